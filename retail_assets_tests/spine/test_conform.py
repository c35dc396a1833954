"""Typing landed data against the spec: every value read losslessly or its row quarantined with a reason."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from retail_assets.lib.conform import LandingSchemaError, conform, identifier_columns, schema_drift
from retail_assets.lib.specs import REGISTRY, DType
from retail_assets.lib.specs.columns import col

LINES = REGISTRY.table("fact_receipt_lines").columns
UTC = dt.UTC


def lines_csv(**overrides: list) -> pl.DataFrame:
    base = {
        "receipt_id": ["R1"],
        "line_number": ["1"],
        "event_ts": ["2024-01-05T10:00:00Z"],
        "product_id": ["7"],
        "quantity": ["2"],
        "unit_price_cents": ["150"],
        "discount_cents": ["0"],
        "ext_price_cents": ["300"],
        "promo_code": [None],
        "trace_id": [None],
    }
    base.update(overrides)
    return pl.DataFrame(base, schema={k: pl.String for k in base})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-05T10:00:00Z", dt.datetime(2024, 1, 5, 10, tzinfo=UTC)),
        ("2024-01-05T10:00:00.123456Z", dt.datetime(2024, 1, 5, 10, 0, 0, 123456, tzinfo=UTC)),
        ("2024-01-05 12:00:00+02:00", dt.datetime(2024, 1, 5, 10, tzinfo=UTC)),
        ("2024-01-05T10:00:00", dt.datetime(2024, 1, 5, 10, tzinfo=UTC)),  # no offset: read as UTC
        ("2024-01-05", dt.datetime(2024, 1, 5, tzinfo=UTC)),
    ],
)
def test_text_timestamps_in_iso_forms_become_utc_microseconds(text: str, expected: dt.datetime) -> None:
    result = conform(lines_csv(event_ts=[text]), LINES, source="f.csv", text_source=True)
    assert result.rejected.height == 0
    assert result.rows.get_column("event_ts").to_list() == [expected]
    assert result.rows.schema["event_ts"] == pl.Datetime("us", "UTC")


def test_a_row_with_unreadable_values_is_quarantined_naming_column_and_value() -> None:
    raw = lines_csv(receipt_id=["R1", "R2"], line_number=["1", "two"], event_ts=["2024-01-05", "2024-01-05"],
                    product_id=["7", "8"], quantity=["2", "3"], unit_price_cents=["1", "1"], discount_cents=["0", "0"],
                    ext_price_cents=["2", "3"], promo_code=[None, None], trace_id=[None, None])  # fmt: skip
    result = conform(raw, LINES, source="table fact_receipt_lines, file batch/x/2024-01/a.csv", text_source=True)
    assert result.rows.get_column("receipt_id").to_list() == ["R1"]
    rejected = result.rejected.row(0, named=True)
    assert rejected["row_number"] == 2
    assert (rejected["column_name"], rejected["value"], rejected["reason_code"]) == ("line_number", "two", "type_error")
    assert rejected["reason"] == (
        "table fact_receipt_lines, file batch/x/2024-01/a.csv, row 2: column line_number: cannot read two as int32"
    )
    assert '"line_number":"two"' in rejected["record"]  # the whole row is kept


def test_every_problem_of_a_row_is_named_in_its_reason() -> None:
    raw = lines_csv(receipt_id=[None], quantity=["1.5"], event_ts=["yesterday"])
    reason = conform(raw, LINES, source="f.csv", text_source=True).rejected.get_column("reason")[0]
    assert "column receipt_id: required value is missing" in reason
    assert "column event_ts: cannot read yesterday as timestamp" in reason
    assert "column quantity: cannot read 1.5 as int32" in reason


def test_lossy_numeric_casts_are_rejected_not_truncated() -> None:
    raw = pl.DataFrame(
        {
            "receipt_id": ["A", "B", "C"],
            "line_number": [1.0, 2.5, 3.0],
            "event_ts": [dt.datetime(2024, 1, 1)] * 3,
            "product_id": [1, 2, 3],
            "quantity": [1, 2, 3_000_000_000],  # overflows int32
            "unit_price_cents": [1, 1, 1],
            "discount_cents": [0, 0, 0],
            "ext_price_cents": [1, 1, 1],
        }
    )
    result = conform(raw, LINES, source="p.parquet")
    assert result.rows.get_column("receipt_id").to_list() == ["A"]
    assert result.rejected.get_column("column_name").to_list() == ["line_number", "quantity"]
    assert result.rejected.get_column("value").to_list() == ["2.5", "3000000000"]


def test_naive_and_zoned_parquet_timestamps_become_utc() -> None:
    zoned = pl.Series([dt.datetime(2024, 1, 5, 11)]).dt.replace_time_zone("Europe/Paris").dt.cast_time_unit("ns")
    frame = lines_csv().with_columns(pl.col(c).cast(pl.Int64) for c in ("line_number", "product_id", "quantity", "unit_price_cents", "discount_cents", "ext_price_cents"))
    result = conform(frame.with_columns(zoned.alias("event_ts")), LINES, source="p.parquet")
    assert result.rows.get_column("event_ts").to_list() == [dt.datetime(2024, 1, 5, 10, tzinfo=UTC)]


def test_a_missing_required_column_refuses_the_whole_file_naming_it() -> None:
    with pytest.raises(LandingSchemaError, match=r"table fact_receipt_lines, file a.csv: required columns \['product_id'\] are missing"):
        conform(lines_csv().drop("product_id"), LINES, source="table fact_receipt_lines, file a.csv", text_source=True)


def test_a_missing_optional_column_is_null_and_reported_as_drift() -> None:
    result = conform(lines_csv().drop("promo_code"), LINES, source="a.csv", text_source=True)
    assert result.rows.get_column("promo_code").to_list() == [None]
    assert result.drift.missing == ("promo_code",) and not result.drift.ok


def test_extra_and_mistyped_columns_are_reported() -> None:
    found = {"receipt_id": pl.String, "line_number": pl.Float64, "event_ts": pl.Datetime("ns"), "colour": pl.String}
    drift = schema_drift({**found}, LINES)
    assert drift.extra == ("colour",)
    assert drift.mistyped == {"line_number": ("Float64", "int32")}
    assert "event_ts" not in drift.mistyped  # any timestamp unit or zone is the same type
    assert "extra columns ['colour']" in drift.describe()


def test_widening_integer_types_are_not_drift() -> None:
    found = {"line_number": pl.Int16, "quantity": pl.Int64, "product_id": pl.UInt32}
    assert schema_drift(found, LINES).mistyped == {}


@pytest.mark.parametrize(
    ("dtype", "text", "expected"),
    [
        (DType.BOOL, "TRUE", True),
        (DType.BOOL, "0", False),
        (DType.DATE, "2024-02-29", dt.date(2024, 2, 29)),
        (DType.LIST_INT64, "[1, 2,3]", [1, 2, 3]),
        (DType.LIST_INT64, "[]", []),
        (DType.FLOAT64, "12.50", 12.5),
    ],
)
def test_text_values_of_every_type_are_read(dtype: DType, text: str, expected: object) -> None:
    column = col("v", dtype, "A value.")
    result = conform(pl.DataFrame({"v": [text]}), [column], source="t.csv", text_source=True)
    assert result.rejected.height == 0
    assert result.rows.get_column("v").to_list() == [expected]


@pytest.mark.parametrize(
    ("dtype", "text"),
    [(DType.BOOL, "maybe"), (DType.DATE, "2023-02-29"), (DType.LIST_INT64, "[1, x]"), (DType.INT64, "12abc")],
)
def test_text_values_that_do_not_fit_the_type_are_rejected(dtype: DType, text: str) -> None:
    result = conform(pl.DataFrame({"v": [text]}), [col("v", dtype, "A value.")], source="t.csv", text_source=True)
    assert result.rows.height == 0
    assert result.rejected.get_column("reason_code").to_list() == ["type_error"]


def test_nan_and_infinite_floats_are_rejected_from_any_source() -> None:
    column = col("v", DType.FLOAT64, "A value.")
    parquet = conform(pl.DataFrame({"v": [1.5, float("nan"), float("-inf")]}), [column], source="p.parquet")
    text = conform(pl.DataFrame({"v": ["1.5", "NaN", "inf"]}), [column], source="t.csv", text_source=True)
    for result in (parquet, text):
        assert result.rows.get_column("v").to_list() == [1.5]
        assert result.rejected.get_column("reason_code").to_list() == ["non_finite_number"] * 2
    assert text.rejected.get_column("reason").to_list() == [
        "t.csv, row 2: column v: NaN is not a finite number",
        "t.csv, row 3: column v: inf is not a finite number",
    ]


def test_strings_are_kept_as_landed_and_blank_is_no_value() -> None:
    columns = [col("name", DType.STRING, "A name."), col("note", DType.STRING, "A note.", nullable=True)]
    raw = pl.DataFrame({"name": [" Ann ", "", "Bob"], "note": ["", "x", "  "]})
    result = conform(raw, columns, source="t.csv", text_source=True)
    assert result.rows.rows() == [(" Ann ", None), ("Bob", None)]
    assert result.rejected.select("row_number", "reason_code", "reason").rows() == [
        (2, "null_required", "t.csv, row 2: column name: required value is empty")
    ]


def test_control_characters_reject_identifiers_only_and_are_shown_escaped() -> None:
    columns = [col("order_id", DType.STRING, "An id."), col("comment", DType.STRING, "Free text.")]
    raw = pl.DataFrame({"order_id": ["O-1", "O-\x002", "O-3\n", "O-4\u0085"], "comment": ["a\tb", "c", "d", "e"]})
    result = conform(raw, columns, source="t.csv", text_source=True, identifiers=identifier_columns(columns), unit="line")
    assert result.rows.rows() == [("O-1", "a\tb")]
    assert result.rejected.select("value", "reason_code").rows() == [
        ("O-\\x002", "control_character"),
        ("O-3\\x0a", "control_character"),
        ("O-4\\x85", "control_character"),
    ]
    assert result.rejected.get_column("reason")[0] == (
        "t.csv, line 2: column order_id: 'O-\\x002' contains control characters; identifiers must be printable"
    )


def test_identifiers_are_the_key_trace_id_and_every_id_string() -> None:
    receipts = REGISTRY.table("fact_receipts")
    assert set(identifier_columns(receipts.columns, receipts.primary_key)) >= {"receipt_id", "trace_id"}
    assert "tender_type" not in identifier_columns(receipts.columns, receipts.primary_key)
