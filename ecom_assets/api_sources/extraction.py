"""What every API source's extraction assets share: their keys, the dlt pipeline that lands their loads, and the
metadata each landing asset carries (rows landed, the incremental cursor, the load ids)."""

import tempfile
from collections.abc import Iterator

import dlt
from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue
from dagster_dlt import DagsterDltResource, DagsterDltTranslator
from dagster_dlt.translator import DltResourceTranslatorData
from dlt.sources import DltSource

from ecom_assets.api_sources.loads import source_folder
from resources import LandingZone
from resources.api_sources import api_landing_destination

dlt.config["runtime.dlthub_telemetry"] = False  # dlt would report usage to dltHub over the network


def landing_key(source: str, resource: str) -> AssetKey:
    """The asset key of one API resource's landed loads: `api_landing/<source>/<resource>`."""
    return AssetKey(["api_landing", source, resource])


class LandingTranslator(DagsterDltTranslator):
    """Each resource of a source is the asset `api_landing/<source>/<resource>` in the source's group."""

    def __init__(self, source: str, group: str, describe) -> None:
        self.source, self.group, self.describe = source, group, describe

    def get_asset_spec(self, data: DltResourceTranslatorData):
        """The resource's asset: its landing key, no upstream, kinds dlt and the source."""
        name = data.resource.name
        return (
            super()
            .get_asset_spec(data)
            .replace_attributes(
                key=landing_key(self.source, name),
                deps=[],
                group_name=self.group,
                kinds={"dlt", self.source},
                description=f"{self.describe(name)} Landed by dlt under `{source_folder(self.source)}/{name}/` as "
                "gzip'd JSON lines.",
            )
        )


def definition_pipeline(source: str) -> dlt.Pipeline:
    """A pipeline that only names the destination's kind for the asset specs; each run builds its own."""
    return dlt.pipeline(
        pipeline_name=f"ecom_{source}",
        destination="filesystem",
        dataset_name=source,
        pipelines_dir=f"{tempfile.gettempdir()}/ecom-dlt-definitions",
    )


def land(
    context: AssetExecutionContext,
    dlt_runner: DagsterDltResource,
    landing: LandingZone,
    dlt_source: DltSource,
    cursor: str,
) -> Iterator[MaterializeResult]:
    """Run the source's selected resources as one dlt load into the landing zone, from a thrown-away working folder
    (dlt restores its state from beside the loads); yields each resource's materialization with its figures."""
    source = dlt_source.name
    with tempfile.TemporaryDirectory(prefix="dlt-") as working_dir:
        pipeline = dlt.pipeline(
            pipeline_name=f"ecom_{source}",
            destination=api_landing_destination(landing),
            dataset_name=source,
            pipelines_dir=working_dir,
        )
        for result in dlt_runner.run(context=context, dlt_source=dlt_source, dlt_pipeline=pipeline):
            yield _with_figures(result, pipeline, source, cursor)


def _with_figures(result: MaterializeResult, pipeline: dlt.Pipeline, source: str, cursor: str) -> MaterializeResult:
    """The resource's materialization with its landed rows, its incremental cursor and the load ids added."""
    resource = result.asset_key.path[-1]
    state = pipeline.state.get("sources", {}).get(source, {}).get("resources", {}).get(resource, {})
    last_value = state.get("incremental", {}).get(cursor, {}).get("last_value")
    normalized = pipeline.last_trace.last_normalize_info
    loaded = pipeline.last_trace.last_load_info
    return MaterializeResult(
        asset_key=result.asset_key,
        metadata={
            **(result.metadata or {}),
            "rows_landed": MetadataValue.int(normalized.row_counts.get(resource, 0) if normalized else 0),
            f"{cursor}_cursor": MetadataValue.text(str(last_value)) if last_value is not None else "none (a snapshot)",
            "load_ids": MetadataValue.json(list(loaded.loads_ids) if loaded else []),
        },
    )
