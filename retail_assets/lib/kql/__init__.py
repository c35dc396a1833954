"""The KQL that an Eventhouse user deploys beside the platform, rendered from the specs.

``render()`` returns every file of ``kql/`` (tables, ingestion mappings, functions,
materialized views, querysets, rules, README); ``drift()`` compares them with a folder and
``write()`` writes them. ``retail-assets kql render`` is the command line to these.
"""

from retail_assets.lib.kql.render import Drift, drift, render, write

__all__ = ["Drift", "drift", "render", "write"]
