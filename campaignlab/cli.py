"""The one command-line app: ``campaignlab generate|verify|calibrate|embed|train|...``.

Every command loads one pydantic config (YAML file and/or flags), turns bad input into a one-line
error on stderr with exit code 2, and writes its outputs atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from campaignlab.clitools import echo_json, handle_errors

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="campaignlab: campaign-outcome prediction from multimodal data.",
)

# --- generator -------------------------------------------------------------------------------


@app.command()
@handle_errors
def generate(
    out: Path = typer.Option(..., "--out", help="dataset folder to write (replaced atomically)"),
    preset: str | None = typer.Option(None, help="v25, v26 or v28"),
    seed: int | None = typer.Option(None, help="random seed (default 42)"),
    noise: str | None = typer.Option(None, help="clean, low, medium or high"),
    pairs: str | None = typer.Option(None, help="none, common_first, rare_first or middle_ground"),
    scale: float | None = typer.Option(None, help="multiply every class count (e.g. 0.01 for a quick run)"),
    config: Path | None = typer.Option(None, "--config", help="YAML file with any GeneratorConfig field"),
    quiet: bool = typer.Option(False, help="no progress bar"),
) -> None:
    """Generate a labelled synthetic campaign dataset folder."""
    from campaignlab.config import deep_merge, read_yaml
    from campaignlab.io import check_writable_parent
    from campaignlab.progress import progress_bar
    from campaignlab.synth import dataset
    from campaignlab.synth.config import resolve_generator_config

    data = read_yaml(config) if config else {}
    flags = {"preset": preset, "seed": seed, "noise": noise, "pairs": pairs, "scale": scale}
    data = deep_merge(data, {k: v for k, v in flags.items() if v is not None})
    cfg = resolve_generator_config(data, source=str(config) if config else "options")
    check_writable_parent(out)
    with progress_bar(not quiet) as update:
        ds = dataset.generate(cfg, progress=update)
    dataset.write(ds, out)
    m = ds.manifest
    typer.echo(
        f"wrote {m['num_samples']} samples to {out} in {ds.seconds['total']:.1f}s "
        f"(train {sum(m['counts']['train'].values())}, test {sum(m['counts']['test'].values())}; "
        f"acceptance {m['acceptance']})"
    )


@app.command()
@handle_errors
def verify(folder: Path = typer.Argument(..., help="dataset folder written by `generate`")) -> None:
    """Recompute every label from nodes.parquet and edges.parquet; exit 1 on any mismatch."""
    from campaignlab.errors import VerificationError
    from campaignlab.synth import dataset

    try:
        report = dataset.verify(folder)
    except VerificationError as err:
        typer.secho(f"verification FAILED: {err}", err=True, fg=typer.colors.RED)
        raise typer.Exit(code=1) from None
    typer.echo(
        f"OK: {report.num_samples} samples verified; counts {report.counts}; "
        f"{report.ambiguous} lie in more than one class's ranges"
    )


@app.command()
@handle_errors
def calibrate(
    seed: int = typer.Option(42, help="seed of the graph (as in generate)"),
    n_subgraphs: int = typer.Option(10_000, help="random subgraphs to draw"),
    edges_per_subgraph: int = typer.Option(1_000, help="pairwise combinations per subgraph"),
    avg_halfwidth_sd: float = typer.Option(2.0, help="Average range = mean +- this many std"),
    shift_sd: float = typer.Option(5.0, help="Positive/Negative ranges start this many std beyond Average"),
    config: Path | None = typer.Option(None, "--config", help="generator YAML whose graph: section to use"),
    out: Path | None = typer.Option(None, "--out", help="also write the result as JSON here"),
) -> None:
    """Derive class ranges from random subgraphs and print the edge-type frequency report."""
    from campaignlab.config import read_yaml, validate
    from campaignlab.io import write_json
    from campaignlab.synth.calibrate import CalibrateConfig
    from campaignlab.synth.calibrate import calibrate as run
    from campaignlab.synth.config import GraphConfig
    from campaignlab.synth.graph import build_graph

    graph_cfg = validate(GraphConfig, read_yaml(config).get("graph", {}) if config else {}, "graph")
    cfg = validate(
        CalibrateConfig,
        {
            "n_subgraphs": n_subgraphs,
            "edges_per_subgraph": edges_per_subgraph,
            "avg_halfwidth_sd": avg_halfwidth_sd,
            "shift_sd": shift_sd,
            "seed": seed,
        },
        "options",
    )
    result = run(build_graph(graph_cfg, seed), cfg)
    if out:
        write_json(out, result)
    from rich.table import Table

    from campaignlab.progress import console

    table = Table(title="Edge-type frequency per random subgraph")
    for col in ("rank", "edge type", "mean", "std"):
        table.add_column(col)
    for i, row in enumerate(result["edge_type_frequencies"], 1):
        table.add_row(str(i), row["edge_type"], f"{row['mean']:.2f}", f"{row['std']:.2f}")
    console.print(table)
    echo_json({"fractions": result["fractions"], "classes": result["classes"]})


# --- leaderboard -----------------------------------------------------------------------------

leaderboard_app = typer.Typer(
    no_args_is_help=True, help="Leaderboard service: versioned splits, blind server-side scoring."
)
app.add_typer(leaderboard_app, name="leaderboard")
_TOKEN_ENV = "CAMPAIGNLAB_LEADERBOARD_TOKEN"


@leaderboard_app.command("serve")
@handle_errors
def leaderboard_serve(
    db: str = typer.Option(..., "--db", help="sqlite:///FILE, postgresql+psycopg://..., or a file path"),
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8000, "--port"),
    data_dir: Path | None = typer.Option(None, "--data-dir", help="split files (default <sqlite file>.data)"),
    max_upload_mb: float = typer.Option(20.0, "--max-upload-mb", help="largest predictions upload"),
    log_level: str = typer.Option("info", "--log-level"),
) -> None:
    """Migrate the database (Alembic) and serve the API and pages until interrupted."""
    from campaignlab.config import validate
    from campaignlab.leaderboard.app import serve
    from campaignlab.leaderboard.config import ServeConfig

    flags = {"db": db, "host": host, "port": port, "data_dir": data_dir, "max_upload_mb": max_upload_mb}
    serve(validate(ServeConfig, {**flags, "log_level": log_level}, "options"))


@leaderboard_app.command("add-version")
@handle_errors
def leaderboard_add_version(
    name: str = typer.Argument(..., help="version name, e.g. v25"),
    dataset: Path = typer.Option(..., "--dataset", help="dataset folder written by `generate`"),
    features: Path | None = typer.Option(None, "--features", help="features folder written by `embed`"),
    db: str = typer.Option(..., "--db", help="database URL or SQLite file path"),
    data_dir: Path | None = typer.Option(None, "--data-dir", help="split files (default <sqlite file>.data)"),
) -> None:
    """Register a dataset (and its features) as an immutable, versioned train/test split."""
    from campaignlab.config import validate
    from campaignlab.leaderboard.config import AddVersionConfig, default_data_dir
    from campaignlab.leaderboard.store import Store
    from campaignlab.leaderboard.versions import register_version

    flags = {"name": name, "dataset": dataset, "features": features, "db": db, "data_dir": data_dir}
    cfg = validate(AddVersionConfig, flags, "options")
    store = Store(cfg.db)
    store.migrate()
    reg = register_version(store, default_data_dir(cfg.db, cfg.data_dir), cfg.name, cfg.dataset, cfg.features)
    v = reg.version
    state = "registered" if reg.created else "already registered (same content)"
    typer.echo(
        f"version {v.name} {state}: {v.n_train} train / {v.n_test} test samples, "
        f"features {'yes' if v.has_features else 'no'}, content hash {v.content_hash[:12]}"
    )


@leaderboard_app.command("create-token")
@handle_errors
def leaderboard_create_token(
    db: str = typer.Option(..., "--db", help="database URL or SQLite file path"),
    researcher: str = typer.Option(..., "--researcher", help="researcher name (created if new)"),
) -> None:
    """Create an API token for a researcher and print it once (only its hash is stored)."""
    from campaignlab.config import validate
    from campaignlab.leaderboard.config import CreateTokenConfig
    from campaignlab.leaderboard.store import Store

    cfg = validate(CreateTokenConfig, {"db": db, "researcher": researcher}, "options")
    store = Store(cfg.db)
    store.migrate()
    typer.echo(store.create_token(cfg.researcher))
    typer.echo(f"token for {cfg.researcher}: shown once, keep it secret ({_TOKEN_ENV})", err=True)


@leaderboard_app.command("revoke-tokens")
@handle_errors
def leaderboard_revoke_tokens(
    db: str = typer.Option(..., "--db", help="database URL or SQLite file path"),
    researcher: str = typer.Option(..., "--researcher"),
) -> None:
    """Revoke every token of a researcher."""
    from campaignlab.config import validate
    from campaignlab.leaderboard.config import CreateTokenConfig
    from campaignlab.leaderboard.store import Store

    cfg = validate(CreateTokenConfig, {"db": db, "researcher": researcher}, "options")
    store = Store(cfg.db)
    store.migrate()
    typer.echo(f"revoked {store.revoke_tokens(cfg.researcher)} token(s) of {cfg.researcher}")


@leaderboard_app.command("submit")
@handle_errors
def leaderboard_submit(
    url: str = typer.Option(..., "--url", help="leaderboard base URL, e.g. http://127.0.0.1:8000"),
    token: str = typer.Option(..., "--token", envvar=_TOKEN_ENV, help=f"API token (or ${_TOKEN_ENV})"),
    version: str = typer.Option(..., "--version", help="dataset version, e.g. v25"),
    predictions: Path = typer.Option(..., "--predictions", help="Parquet (sample_id, label) or CSV"),
    model: str = typer.Option("", "--model", help="model name shown in the ranking"),
) -> None:
    """Submit predictions for blind scoring; prints the stored submission with its scores."""
    from campaignlab.config import validate
    from campaignlab.leaderboard.client import submit_predictions
    from campaignlab.leaderboard.config import SubmitConfig

    flags = {"url": url, "token": token, "version": version, "predictions": predictions, "model": model}
    cfg = validate(SubmitConfig, flags, "options")
    echo_json(submit_predictions(cfg.url, cfg.token, cfg.version, cfg.predictions, model=cfg.model))


@leaderboard_app.command("download")
@handle_errors
def leaderboard_download(
    url: str = typer.Option(..., "--url"),
    token: str = typer.Option(..., "--token", envvar=_TOKEN_ENV, help=f"API token (or ${_TOKEN_ENV})"),
    version: str = typer.Option(..., "--version"),
    split: str = typer.Option(..., "--split", help="train (with labels) or test (without)"),
    kind: str = typer.Option("raw", "--kind", help="raw (texts) or features (vectors)"),
    out: Path = typer.Option(..., "--out", help="Parquet file to write"),
) -> None:
    """Download a version's train or test split as Parquet."""
    from campaignlab.config import validate
    from campaignlab.leaderboard.client import download_split
    from campaignlab.leaderboard.config import DownloadConfig

    flags = {"url": url, "token": token, "version": version, "split": split, "kind": kind, "out": out}
    cfg = validate(DownloadConfig, flags, "options")
    download_split(cfg.url, cfg.token, cfg.version, cfg.split, cfg.out, kind=cfg.kind)
    typer.echo(f"wrote {cfg.out}")


@leaderboard_app.command("ranking")
@handle_errors
def leaderboard_ranking(
    url: str = typer.Option(..., "--url"),
    token: str = typer.Option(..., "--token", envvar=_TOKEN_ENV, help=f"API token (or ${_TOKEN_ENV})"),
    version: str = typer.Option(..., "--version"),
) -> None:
    """Print a version's ranking (best macro F1 first)."""
    from rich.table import Table

    from campaignlab.leaderboard.client import get_ranking
    from campaignlab.progress import console

    table = Table(title=f"Leaderboard {version}")
    for col in ("rank", "researcher", "model", "id", "macro F1", "Neg F1", "Avg F1", "Pos F1", "weighted F1"):
        table.add_column(col)
    for r in get_ranking(url, token, version):
        s = r["scores"]
        keys = ("macro_f1", "f1_negative", "f1_average", "f1_positive", "weighted_f1")
        cells = [str(r["rank"]), r["researcher"], r["model"], str(r["id"])]
        table.add_row(*cells, *(f"{s[k]:.4f}" for k in keys))
    console.print(table)


# --- pipelines -------------------------------------------------------------------------------
# Compare/register (core, run inside the images) and the KFP/Vertex commands (compile, submit,
# schedule, schedules). kfp and google-cloud-aiplatform are imported inside the commands only.


@app.command()
@handle_errors
def compare(
    metrics: list[str] = typer.Option(
        ..., "--metrics", help="NAME=DIR[#SECTION]: a candidate's evaluation folder (repeat)"
    ),
    out: Path = typer.Option(..., "--out", help="folder for best.json, summary.md/.html, comparison.png"),
    model: list[str] = typer.Option([], "--model", help="NAME=DIR: a candidate's model folder (repeat)"),
    model_out: Path | None = typer.Option(None, "--model-out", help="copy the best model folder here"),
    champion: Path | None = typer.Option(None, "--champion", help="the champion's evaluation folder"),
    margin: float = typer.Option(0.0, "--margin", help="macro-F1 points the best must beat the champion by"),
    promote_out: Path | None = typer.Option(None, "--promote-out", help="write true/false here"),
    markdown_out: Path | None = typer.Option(None, "--markdown-out", help="also copy summary.md here"),
    html_out: Path | None = typer.Option(None, "--html-out", help="also copy summary.html here"),
) -> None:
    """Pick the best model by macro F1; with --champion, decide whether to promote it."""
    import shutil

    from campaignlab.config import validate
    from campaignlab.evaluation.compare import CompareConfig, parse_pairs
    from campaignlab.evaluation.compare import compare as run

    data = {
        "metrics": parse_pairs(metrics, "--metrics"),
        "models": parse_pairs(model, "--model"),
        "out": out,
        "model_out": model_out,
        "champion": champion,
        "margin": margin,
        "promote_out": promote_out,
    }
    result = run(validate(CompareConfig, data, "options"))
    for src, dest in (("summary.md", markdown_out), ("summary.html", html_out)):
        if dest is not None:
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(out / src, dest)
    typer.echo(markdown_table_text(result))


def markdown_table_text(result: dict[str, Any]) -> str:
    from campaignlab.evaluation.compare import markdown_table

    return markdown_table(result)


@app.command()
@handle_errors
def register(
    model: Path = typer.Option(..., "--model", help="model folder to register"),
    metrics: Path = typer.Option(..., "--metrics", help="its evaluation folder (metrics.json)"),
    out: Path = typer.Option(..., "--out", help="registered copy"),
    name: str = typer.Option("champion", "--name", help="registered model name"),
    registry_dir: str = typer.Option("", "--registry-dir", help="also copy here (e.g. /gcs/BUCKET/models/x)"),
) -> None:
    """Register a model (a promoted challenger): copy it with its metrics and a registered.json."""
    from campaignlab.config import validate
    from campaignlab.evaluation.compare import RegisterConfig
    from campaignlab.evaluation.compare import register as run

    data = {
        "model": model,
        "metrics": metrics,
        "out": out,
        "name": name,
        "registry_dir": registry_dir or None,
    }
    record = run(validate(RegisterConfig, data, "options"))
    typer.echo(f"registered {record['name']} (macro F1 {record['macro_f1']:.4f}) at {out}")


@app.command("kfp-metadata")
@handle_errors
def kfp_metadata(
    eval_dir: Path = typer.Argument(..., help="evaluation folder written by `evaluate`"),
    metrics: Path | None = typer.Option(None, "--metrics", help="Metrics artifact path"),
    classification_metrics: Path | None = typer.Option(None, "--classification-metrics"),
    report: Path | None = typer.Option(None, "--report", help="HTML artifact path"),
    predictions: Path | None = typer.Option(None, "--predictions", help="Dataset artifact path"),
    executor_input: str | None = typer.Option(None, "--executor-input", help="the task's {{$}} JSON"),
) -> None:
    """Publish an evaluation folder as typed KFP artifacts (+ executor_output.json metadata)."""
    from campaignlab.evaluation.kfp_outputs import publish

    written = publish(
        eval_dir,
        metrics=metrics,
        classification_metrics=classification_metrics,
        report=report,
        predictions=predictions,
        executor_input=executor_input,
    )
    names = sorted(written.get("artifacts", {}))
    typer.echo(f"published {eval_dir}" + (f"; metadata for {', '.join(names)}" if names else ""))


pipeline_app = typer.Typer(
    no_args_is_help=True, help="KFP pipelines: compile, submit and schedule on Vertex AI."
)
schedules_app = typer.Typer(no_args_is_help=True, help="Vertex AI pipeline schedules: list and delete.")
app.add_typer(pipeline_app, name="pipeline")
app.add_typer(schedules_app, name="schedules")
pipeline_app.add_typer(schedules_app, name="schedules")

_PROJECT = typer.Option(..., "--project", envvar="GOOGLE_CLOUD_PROJECT", help="Google Cloud project id")
_REGION = typer.Option("us-central1", "--region", envvar="GOOGLE_CLOUD_REGION", help="Vertex AI region")
_ENDPOINT = typer.Option(
    None, "--api-endpoint", envvar="CAMPAIGNLAB_VERTEX_ENDPOINT", help="Vertex AI API endpoint override"
)
_STORAGE = typer.Option(
    None, "--storage-endpoint", envvar="CAMPAIGNLAB_STORAGE_ENDPOINT", help="Cloud Storage endpoint override"
)
# Run options shared by `pipeline submit` and `pipeline schedule`.
_RUN_CONFIG = typer.Option(None, "--config", help="YAML of run parameters")
_RUN_PARAM = typer.Option([], "--param", help="NAME=VALUE run parameter (repeat)")
_RUN_LABEL = typer.Option([], "--label", help="KEY=VALUE label (repeat)")
_DISPLAY_NAME = typer.Option(None, "--display-name", help="name shown in the Vertex AI console")


def _labels(pairs: list[str]) -> dict[str, str]:
    from campaignlab.errors import ConfigError

    out = {}
    for pair in pairs:
        k, sep, v = pair.partition("=")
        if not sep:
            raise ConfigError(f"--label: got {pair!r} -> expected KEY=VALUE")
        out[k] = v
    return out


def _run_parameters(template: Path, config: Path | None, params: list[str]) -> dict[str, Any]:
    from pipelines.params import load_run_parameters, model_from_spec
    from pipelines.vertex import read_template

    spec = read_template(template)
    model = model_from_spec(spec, spec["pipelineInfo"]["name"])
    return load_run_parameters(model, config, params, source=str(config or "--param"))


@pipeline_app.command("compile")
@handle_errors
def pipeline_compile(
    name: str = typer.Argument(..., help="training, federated, experiments or retraining"),
    out: Path = typer.Option(..., "--out", help="compiled pipeline YAML to write"),
    config: Path | None = typer.Option(
        None, "--config", help="run parameters (default pipelines/configs/NAME.yaml)"
    ),
    param: list[str] = typer.Option([], "--param", help="NAME=VALUE override (repeat)"),
    images: Path | None = typer.Option(None, "--images", help="images file (default build/images.json)"),
    registry: str | None = typer.Option(
        None, "--registry", help="image registry, e.g. us-docker.pkg.dev/P/R"
    ),
    image_tag: str | None = typer.Option(
        None, "--image-tag", help="image tag to use instead of the built one"
    ),
) -> None:
    """Compile a pipeline to YAML; its run parameters are validated and become the defaults."""
    from pipelines.compile import compile_pipeline

    info = compile_pipeline(
        name, out, config=config, overrides=param, images_file=images, registry=registry, image_tag=image_tag
    )
    typer.echo(f"compiled {name} to {out} (images: {', '.join(info['images'])})")


@pipeline_app.command("submit")
@handle_errors
def pipeline_submit(
    template: Path = typer.Argument(..., help="compiled pipeline YAML"),
    project: str = _PROJECT,
    region: str = _REGION,
    pipeline_root: str = typer.Option(
        ..., "--pipeline-root", help="gs://BUCKET/PATH for the run's artifacts"
    ),
    service_account: str = typer.Option(..., "--service-account", help="service account the run acts as"),
    config: Path | None = _RUN_CONFIG,
    param: list[str] = _RUN_PARAM,
    label: list[str] = _RUN_LABEL,
    no_cache: bool = typer.Option(False, "--no-cache", help="run every step, reuse no cached result"),
    display_name: str | None = _DISPLAY_NAME,
    wait: bool = typer.Option(False, "--wait", help="wait until the run ends; exit 2 if it failed"),
    api_endpoint: str | None = _ENDPOINT,
    storage_endpoint: str | None = _STORAGE,
) -> None:
    """Submit a compiled pipeline as a Vertex AI PipelineJob."""
    from pipelines.vertex import Target, submit

    target = Target.from_options(project, region, api_endpoint, storage_endpoint)
    result = submit(
        target,
        template,
        pipeline_root=pipeline_root,
        service_account=service_account,
        parameters=_run_parameters(template, config, param),
        labels=_labels(label),
        enable_caching=False if no_cache else None,
        display_name=display_name,
        wait=wait,
    )
    typer.echo(f"{result['name']}: {result['state']}\n{result['console']}")


@pipeline_app.command("schedule")
@handle_errors
def pipeline_schedule(
    template: Path = typer.Argument(..., help="compiled pipeline YAML"),
    cron: str = typer.Option(
        ..., "--cron", help="e.g. '0 3 * * 1' (Mondays 03:00 UTC); 'TZ=Zone ' prefix ok"
    ),
    project: str = _PROJECT,
    region: str = _REGION,
    pipeline_root: str = typer.Option(
        ..., "--pipeline-root", help="gs://BUCKET/PATH for the runs' artifacts"
    ),
    service_account: str | None = typer.Option(None, "--service-account", help="service account runs act as"),
    max_runs: int | None = typer.Option(None, "--max-runs", min=1, help="stop after this many runs"),
    max_concurrent: int = typer.Option(1, "--max-concurrent", min=1, help="runs allowed at the same time"),
    config: Path | None = _RUN_CONFIG,
    param: list[str] = _RUN_PARAM,
    label: list[str] = _RUN_LABEL,
    no_cache: bool = typer.Option(False, "--no-cache", help="scheduled runs reuse no cached result"),
    display_name: str | None = _DISPLAY_NAME,
    api_endpoint: str | None = _ENDPOINT,
    storage_endpoint: str | None = _STORAGE,
) -> None:
    """Run a compiled pipeline on a cron schedule (e.g. weekly retraining)."""
    from pipelines.vertex import Target, create_schedule

    target = Target.from_options(project, region, api_endpoint, storage_endpoint)
    row = create_schedule(
        target,
        template,
        cron=cron,
        pipeline_root=pipeline_root,
        service_account=service_account,
        parameters=_run_parameters(template, config, param),
        labels=_labels(label),
        enable_caching=False if no_cache else None,
        display_name=display_name,
        max_runs=max_runs,
        max_concurrent=max_concurrent,
    )
    typer.echo(f"{row['name']}: {row['state']} cron {row['cron']!r}")


@schedules_app.command("list")
@handle_errors
def schedules_list(
    project: str = _PROJECT,
    region: str = _REGION,
    as_json: bool = typer.Option(False, "--json", help="print JSON instead of a table"),
    api_endpoint: str | None = _ENDPOINT,
    storage_endpoint: str | None = _STORAGE,
) -> None:
    """List the pipeline schedules of a project and region."""
    from pipelines.vertex import Target, list_schedules

    rows = list_schedules(Target.from_options(project, region, api_endpoint, storage_endpoint))
    if as_json:
        echo_json(rows)
        return
    from rich.table import Table

    from campaignlab.progress import console

    table = Table(title=f"Pipeline schedules in {project}/{region}")
    for col in ("id", "display name", "cron", "state", "runs", "max runs", "max concurrent"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r["name"].rsplit("/", 1)[-1],
            r["display_name"],
            r["cron"],
            r["state"],
            str(r["started_run_count"]),
            str(r["max_run_count"] or "-"),
            str(r["max_concurrent_run_count"]),
        )
    console.print(table)
    typer.echo(f"{len(rows)} schedule(s)")


@schedules_app.command("delete")
@handle_errors
def schedules_delete(
    schedule: str = typer.Argument(..., help="schedule id or projects/.../schedules/ID"),
    project: str = _PROJECT,
    region: str = _REGION,
    api_endpoint: str | None = _ENDPOINT,
    storage_endpoint: str | None = _STORAGE,
) -> None:
    """Delete a pipeline schedule (runs already started are not affected)."""
    from pipelines.vertex import Target, delete_schedule

    name = delete_schedule(Target.from_options(project, region, api_endpoint, storage_endpoint), schedule)
    typer.echo(f"deleted {name}")


# `campaignlab pipeline run-local`: the local runner's own command (local_runner/cli.py); importing it
# loads neither docker nor kfp.
from local_runner.cli import run_local  # noqa: E402

pipeline_app.command("run-local")(run_local)


# --- federated -------------------------------------------------------------------------------


@app.command()
@handle_errors
def partition(
    features_dir: Path = typer.Argument(..., help="features folder (features.parquet + manifest.json)"),
    clients: int = typer.Option(5, "--clients", help="number of clients (one file each)"),
    split: str = typer.Option("homogeneous", "--split", help="homogeneous or heterogeneous"),
    alpha: float | None = typer.Option(None, "--alpha", help="Dirichlet concentration (heterogeneous)"),
    out: Path = typer.Option(..., "--out", help="folder to write <split>_<N>clients[_alpha<A>]/ into"),
    seed: int = typer.Option(42, help="random seed"),
    min_per_client: int = typer.Option(10, help="heterogeneous: fewest rows a client may get"),
    data_version: str | None = typer.Option(None, help="data_version recorded (default: folder name)"),
) -> None:
    """Split the training rows across federated clients; write client files, server test set, heat map."""
    from campaignlab.config import validate
    from campaignlab.federated.partition import PartitionConfig
    from campaignlab.federated.partition import partition as run

    cfg = validate(
        PartitionConfig,
        {
            "num_clients": clients,
            "split": split,
            "alpha": alpha,
            "seed": seed,
            "min_per_client": min_per_client,
            "data_version": data_version,
        },
        "options",
    )
    dest = run(features_dir, cfg, out)
    from campaignlab.io import read_json

    m = read_json(dest / "manifest.json")
    typer.echo(f"wrote {dest} (data_version {m['data_version']}); label counts [Neg, Avg, Pos]:")
    for name, counts in m["counts"].items():
        typer.echo(f"  {name}: {counts}")


@app.command()
@handle_errors
def federate(
    config: Path | None = typer.Option(None, "--config", help="federated YAML (report's 5 sections)"),
    data: Path = typer.Option(Path("data/partitions"), "--data", help="partition folder or its parent"),
    out: Path = typer.Option(Path("runs/federated"), "--out", help="output folder (replaced atomically)"),
    mode: str = typer.Option("simulation", "--mode", help="simulation or deployment"),
    tls: bool = typer.Option(False, help="deployment: TLS with a throw-away local CA"),
    node_auth: bool = typer.Option(False, help="deployment: SuperNode authentication"),
    verbose: bool = typer.Option(False, help="show Flower's logs"),
    quiet: bool = typer.Option(False, help="no progress bar"),
) -> None:
    """Federated training (Flower) vs the centralized baseline at the same epoch budget."""
    from campaignlab.errors import ConfigError
    from campaignlab.federated.config import load_federated_config
    from campaignlab.federated.simulation import federate as run
    from campaignlab.progress import progress_bar

    if mode not in ("simulation", "deployment"):
        raise ConfigError(f"--mode: got {mode!r} -> expected 'simulation' or 'deployment'")
    if (tls or node_auth) and mode != "deployment":
        raise ConfigError("--tls/--node-auth: only with --mode deployment")
    cfg = load_federated_config(config)
    with progress_bar(not quiet) as update:
        summary = run(
            cfg,
            data,
            out,
            mode=mode,  # type: ignore[arg-type]
            quiet=not verbose,
            progress=update,
            deployment_options={"tls": tls, "node_auth": node_auth} if mode == "deployment" else None,
        )
    fl = summary["federated"]
    typer.echo(summary["table"])
    typer.echo(
        f"gap {summary['gap_macro_f1_points']:.2f} macro-F1 points; wall time FL "
        f"{fl['wall_seconds']:.1f}s vs centralized {summary['centralized']['seconds']:.1f}s; wrote {out}"
    )
    for note in summary["notes"]:
        typer.secho(note, err=True, fg=typer.colors.YELLOW)


# --- models ----------------------------------------------------------------------------------


@app.command()
@handle_errors
def train(
    model: str | None = typer.Option(
        None, "--model", help="hierarchical_lgbm, shared_latent or robust_modality"
    ),
    features: Path | None = typer.Option(None, "--features", help="features folder written by `embed`"),
    out: Path | None = typer.Option(None, "--out", help="model folder to write (replaced atomically)"),
    tune: int | None = typer.Option(None, "--tune", help="Optuna trials (shared_latent: grid points)"),
    tune_subset: int | None = typer.Option(None, help="most rows a tuning trial uses (default 20000)"),
    seed: int | None = typer.Option(None, help="random seed (default 42)"),
    threads: int | None = typer.Option(None, help="CPU threads for torch/LightGBM (default: all CPUs)"),
    config: Path | None = typer.Option(None, "--config", help="YAML with TrainConfig fields, e.g. params:"),
    quiet: bool = typer.Option(False, help="no progress bar"),
) -> None:
    """Train a model on the train split of a features folder (optionally tuning it first)."""
    from campaignlab.config import deep_merge, read_yaml, validate
    from campaignlab.models.commands import TrainConfig
    from campaignlab.models.commands import train as run
    from campaignlab.progress import progress_bar

    flags = {"model": model, "features": features, "out": out, "tune": tune, "tune_subset": tune_subset,
             "seed": seed, "threads": threads}  # fmt: skip
    data = deep_merge(read_yaml(config) if config else {}, {k: v for k, v in flags.items() if v is not None})
    cfg = validate(TrainConfig, data, str(config) if config else "options")
    with progress_bar(not quiet) as update:
        s = run(cfg, progress=update)
    extra = ""
    if "best_epoch" in s:
        extra = f"; best epoch {s['best_epoch']}, validation macro F1 {s['val_macro_f1']:.4f}"
    tuned = f" after {cfg.tune} tuning trials (tuning.json)" if s["tuned"] else ""
    typer.echo(
        f"trained {s['model']} on {s['train_rows']} rows in {s['train_seconds']:.1f}s{tuned}{extra}; "
        f"wrote {cfg.out}"
    )


@app.command()
@handle_errors
def evaluate(
    model: Path = typer.Option(..., "--model", help="model folder written by `train`"),
    features: Path = typer.Option(..., "--features", help="features folder written by `embed`"),
    out: Path = typer.Option(..., "--out", help="evaluation folder to write (replaced atomically)"),
    split: str = typer.Option("test", "--split", help="rows to score: test, train or all"),
    threads: int | None = typer.Option(None, help="CPU threads (default: all CPUs)"),
    leaderboard_url: str | None = typer.Option(
        None, help="also submit the test predictions to this leaderboard (blind, server-side scores)"
    ),
    leaderboard_version: str | None = typer.Option(None, help="leaderboard dataset version, e.g. v25"),
    leaderboard_model: str = typer.Option("", help="model name shown in the ranking"),
    leaderboard_token: str | None = typer.Option(
        None, envvar="CAMPAIGNLAB_LEADERBOARD_TOKEN", help="API token (or CAMPAIGNLAB_LEADERBOARD_TOKEN)"
    ),
) -> None:
    """Score a model: metrics.json, KFP metric files, confusion_matrix.png, predictions.parquet."""
    from campaignlab.config import validate
    from campaignlab.errors import ConfigError
    from campaignlab.models.commands import EvaluateConfig
    from campaignlab.models.commands import evaluate as run

    cfg = validate(
        EvaluateConfig,
        {"model": model, "features": features, "out": out, "split": split, "threads": threads},
        "options",
    )
    if leaderboard_url:  # check before any work: a submission needs all of these
        if not leaderboard_version:
            raise ConfigError("--leaderboard-version: got None -> required with --leaderboard-url")
        if not leaderboard_token:
            raise ConfigError(
                "--leaderboard-token: got None -> required with --leaderboard-url "
                "(or set CAMPAIGNLAB_LEADERBOARD_TOKEN)"
            )
        if split != "test":
            raise ConfigError(f"--split: got {split!r} -> 'test' when submitting to a leaderboard")
    m = run(cfg)
    f1 = m["per_class_f1"]
    typer.echo(
        f"macro F1 {m['macro_f1']:.4f} (negative {f1['negative']:.4f}, average {f1['average']:.4f}, "
        f"positive {f1['positive']:.4f}); accuracy {m['accuracy']:.4f}; wrote {cfg.out}"
    )
    if leaderboard_url:
        from campaignlab.leaderboard.client import submit_predictions

        rec = submit_predictions(
            leaderboard_url,
            leaderboard_token or "",
            leaderboard_version or "",
            cfg.out / "predictions.parquet",
            model=leaderboard_model or model.name,
        )
        sc = rec["scores"]
        typer.echo(
            f"leaderboard submission {rec['id']} on {rec['version']}: macro F1 {sc['macro_f1']:.4f} "
            f"(server-side)"
        )


@app.command()
@handle_errors
def predict(
    model: Path = typer.Option(..., "--model", help="model folder written by `train`"),
    features: Path = typer.Option(..., "--features", help="features folder written by `embed`"),
    out: Path = typer.Option(..., "--out", help="Parquet file: sample_id, label, prob_<class> columns"),
    split: str = typer.Option("all", "--split", help="rows to predict: all, train or test"),
    threads: int | None = typer.Option(None, help="CPU threads (default: all CPUs)"),
) -> None:
    """Predict the outcome tier (and class probabilities) of every sample of a features folder."""
    from campaignlab.config import validate
    from campaignlab.models.commands import PredictConfig
    from campaignlab.models.commands import predict as run

    cfg = validate(
        PredictConfig,
        {"model": model, "features": features, "out": out, "split": split, "threads": threads},
        "options",
    )
    n = run(cfg)
    typer.echo(f"wrote {n} predictions to {cfg.out}")


# --- embeddings ------------------------------------------------------------------------------


@app.command()
@handle_errors
def embed(
    dataset: Path = typer.Argument(..., help="dataset folder written by `generate`"),
    out: Path = typer.Option(..., "--out", help="features folder to write (replaced atomically)"),
    encoder: str | None = typer.Option(None, "--encoder", help="local (offline MiniLM) or vertex"),
    task: str | None = typer.Option(
        None, "--task", help="vertex task type, e.g. CLASSIFICATION or SEMANTIC_SIMILARITY"
    ),
    dim: int | None = typer.Option(None, "--dim", help="text vector size (vertex 1..768; local 384)"),
    pdfm: Path | None = typer.Option(None, "--pdfm", help="PDFM ZIP table (default: offline stand-in)"),
    cache_dir: Path | None = typer.Option(None, "--cache-dir", help="embedding cache folder"),
    no_cache: bool = typer.Option(False, "--no-cache", help="embed everything, write no cache"),
    backend: str | None = typer.Option(None, "--backend", help="local encoder: auto, torch or onnx"),
    batch_size: int | None = typer.Option(None, "--batch-size", help="local encoder texts per batch"),
    vertex_endpoint: str | None = typer.Option(
        None, "--vertex-endpoint", help="Vertex base URL (default $CAMPAIGNLAB_VERTEX_ENDPOINT or Google's)"
    ),
    vertex_project: str | None = typer.Option(None, "--vertex-project", help="default $GOOGLE_CLOUD_PROJECT"),
    vertex_location: str | None = typer.Option(None, "--vertex-location", help="default us-central1"),
    vertex_concurrency: int | None = typer.Option(None, "--vertex-concurrency", help="requests in flight"),
    config: Path | None = typer.Option(None, "--config", help="YAML with any EmbedConfig field"),
    quiet: bool = typer.Option(False, help="no progress bar"),
) -> None:
    """Embed a dataset's texts and ZIPs into features.parquet + manifest.json."""
    from campaignlab.config import deep_merge, read_yaml, validate
    from campaignlab.features.embed import EmbedConfig
    from campaignlab.features.embed import run as run_embed
    from campaignlab.progress import progress_bar

    vertex = {"endpoint": vertex_endpoint, "project": vertex_project, "location": vertex_location,
              "concurrency": vertex_concurrency}  # fmt: skip
    flags: dict[str, Any] = {"encoder": encoder, "task_type": task, "dim": dim, "pdfm": pdfm,
                             "cache_dir": cache_dir, "backend": backend, "batch_size": batch_size,
                             "use_cache": False if no_cache else None,
                             "vertex": {k: v for k, v in vertex.items() if v is not None}}  # fmt: skip
    data = deep_merge(read_yaml(config) if config else {}, {k: v for k, v in flags.items() if v is not None})
    cfg = validate(EmbedConfig, data, str(config) if config else "options")
    with progress_bar(not quiet) as update:
        m = run_embed(cfg, dataset, out, progress=update)
    dims = ", ".join(f"{k} {v}" for k, v in m["dimensions"].items())
    secs = m["seconds"]["total"]
    typer.echo(
        f"embedded {m['num_samples']} samples with {m['encoder']} {m['model']} in {secs:.1f}s: "
        f"{m['unique_texts']} distinct texts, {m['texts_embedded']} embedded, {m['cache_hits']} from cache; "
        f"dims {dims}; geo {m['geo']['zips_found']}/{m['geo']['zips_total']} ZIPs found; wrote {out}"
    )


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
