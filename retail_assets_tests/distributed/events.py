"""A run's steps as its event log tells them: when each started (and in which process), ended, was sent to Celery."""

from __future__ import annotations

from dataclasses import dataclass, field

import dagster as dg

SUBMITTED = "Submitting celery task for step"
TAKEN = "in celery worker"


@dataclass
class Step:
    key: str
    starts: list[tuple[float, int]] = field(default_factory=list)  # (STEP_START time, pid of the process)
    end: float | None = None  # STEP_SUCCESS or STEP_FAILURE
    succeeded: bool = False
    submitted: list[float] = field(default_factory=list)  # the orchestrator sent it to the queue
    taken_by: list[str] = field(default_factory=list)  # Celery worker names that took it

    @property
    def window(self) -> tuple[float, float]:
        """From the start of the execution that ended the step to its end."""
        assert self.starts and self.end is not None, f"{self.key} never ran to its end"
        return self.starts[-1][0], self.end


def steps_of(instance: dg.DagsterInstance, run_id: str) -> dict[str, Step]:
    steps: dict[str, Step] = {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or not event.step_key:
            continue
        step = steps.setdefault(event.step_key, Step(event.step_key))
        kind = event.event_type_value
        if kind == "STEP_START":
            step.starts.append((entry.timestamp, event.pid))
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE"):
            step.end, step.succeeded = entry.timestamp, kind == "STEP_SUCCESS"
        elif kind == "ENGINE_EVENT" and SUBMITTED in (event.message or ""):
            step.submitted.append(entry.timestamp)
        elif kind == "ENGINE_EVENT" and TAKEN in (event.message or ""):
            worker = event.engine_event_data.metadata.get("Celery worker")
            step.taken_by.append(str(worker.value) if worker is not None else "?")
    return steps


def overlap(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Seconds during which both windows are open (0 when they only touch or are apart)."""
    return max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
