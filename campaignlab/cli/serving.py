"""Commands that use a trained model: ``serve`` (online prediction), ``recommend``, ``deploy`` (Vertex AI).

Batch prediction from raw campaigns is ``campaignlab predict --campaigns`` (:mod:`campaignlab.cli.models`).
"""

from __future__ import annotations

from pathlib import Path

import typer

from campaignlab.cli.common import echo_json, handle_errors

app = typer.Typer()

_MODEL = typer.Option(None, "--model", help="model folder written by `train` (or gs://... artifacts)")
_REGISTRY = typer.Option(None, "--registry", help="model registry R[:alias] (alias default champion)")


@app.command()
@handle_errors
def serve(
    model: str | None = _MODEL,
    registry: str | None = _REGISTRY,
    host: str | None = typer.Option(None, "--host", help="interface (default 0.0.0.0)"),
    port: int | None = typer.Option(
        None, "--port", help="port (default $AIP_HTTP_PORT or 8080; 0: any free)"
    ),
    max_instances: int | None = typer.Option(None, "--max-instances", help="instances per request (256)"),
    max_body_bytes: int | None = typer.Option(None, "--max-body-bytes", help="largest request body (4 MiB)"),
    cache_dir: Path | None = typer.Option(None, "--cache-dir", help="embedding cache folder"),
    pdfm: Path | None = typer.Option(None, "--pdfm", help="PDFM table, if the model folder lacks its own"),
    threads: int | None = typer.Option(None, "--threads", help="CPU threads (default: all CPUs)"),
    no_warm_up: bool = typer.Option(False, "--no-warm-up", help="skip the warm-up prediction at start"),
) -> None:
    """Serve a model over HTTP with Vertex AI's custom-container contract (AIP_HTTP_PORT, AIP_HEALTH_ROUTE,
    AIP_PREDICT_ROUTE; {"instances": [...]} -> {"predictions": [...]}), plus /recommend and a page at /.

    Without --model and --registry the model comes from $AIP_STORAGE_URI (Vertex AI's model artifacts).
    """
    import socket

    import uvicorn

    from campaignlab.errors import ConfigError
    from campaignlab.serving.app import ServeSettings, create_app
    from campaignlab.serving.models import model_from_environment, resolve_model
    from campaignlab.serving.predictor import Predictor

    settings = ServeSettings.from_environment(
        host=host, port=port, max_instances=max_instances, max_body_bytes=max_body_bytes
    )
    if model is None and registry is None:
        model = model_from_environment()
        if model is None:
            raise ConfigError(
                "model: none given -> pass --model FOLDER, --registry R[:alias] or set AIP_STORAGE_URI"
            )
    resolved = resolve_model(model, registry)
    predictor = Predictor(resolved.path, threads=threads, cache_dir=cache_dir, pdfm=pdfm, persist=False)
    warm = 0.0 if no_warm_up else predictor.warm_up()
    # Bind first, so that port 0 can be reported before uvicorn takes the socket.
    sock = socket.socket(socket.AF_INET6 if ":" in settings.host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((settings.host, settings.port))
    bound = sock.getsockname()[1]
    typer.echo(
        f"serving {predictor.name} from {resolved.path} on http://{settings.host}:{bound} "
        f"(health {settings.health_route}, predict {settings.predict_route}; loaded in "
        f"{predictor.load_seconds:.1f}s, warm-up {warm:.1f}s)",
        err=True,
    )
    config = uvicorn.Config(create_app(predictor, settings), log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


@app.command()
@handle_errors
def recommend(
    brand: str = typer.Option(..., "--brand", help="the brand text, held fixed"),
    audience: str = typer.Option(..., "--audience", help="the audience text, held fixed"),
    model: Path | None = typer.Option(None, "--model", help="model folder written by `train`"),
    registry: str | None = _REGISTRY,
    candidates: Path | None = typer.Option(
        None, "--candidates", help="YAML/JSON {platforms, creatives, geo} (default: values seen in training)"
    ),
    top: int | None = typer.Option(None, "--top", help="how many recommendations (default 5)"),
    objective: str | None = typer.Option(None, "--objective", help="positive (default) or expected-tier"),
    max_combinations: int | None = typer.Option(None, "--max-combinations", help="largest grid (100000)"),
    no_explain: bool = typer.Option(False, "--no-explain", help="no per-modality attribution"),
    cache_dir: Path | None = typer.Option(None, "--cache-dir", help="embedding cache folder"),
    threads: int | None = typer.Option(None, "--threads", help="CPU threads (default: all CPUs)"),
    as_json: bool = typer.Option(False, "--json", help="print JSON instead of a table"),
    config: Path | None = typer.Option(None, "--config", help="YAML with RecommendConfig fields"),
) -> None:
    """Recommend platform, creative and geo set for a brand and audience: every candidate combination is
    scored and the best --top are shown with probabilities and per-modality attribution."""
    from campaignlab.config import deep_merge, read_yaml, validate
    from campaignlab.serving.models import resolve_model
    from campaignlab.serving.predictor import Predictor
    from campaignlab.serving.recommend import RecommendConfig, candidates_for
    from campaignlab.serving.recommend import recommend as run

    flags = {"model": model, "registry": registry, "brand": brand, "audience": audience,
             "candidates": candidates, "top": top, "objective": objective,
             "max_combinations": max_combinations, "explain": False if no_explain else None,
             "cache_dir": cache_dir, "threads": threads}  # fmt: skip
    data = deep_merge(read_yaml(config) if config else {}, {k: v for k, v in flags.items() if v is not None})
    cfg = validate(RecommendConfig, data, str(config) if config else "options")
    resolved = resolve_model(cfg.model, cfg.registry)
    predictor = Predictor(resolved.path, threads=cfg.threads, cache_dir=cfg.cache_dir)
    cands = candidates_for(predictor, cfg.candidates)
    result = run(
        predictor, cfg.brand, cfg.audience, cands, top=cfg.top, objective=cfg.objective,
        explain_=cfg.explain, max_combinations=cfg.max_combinations,
    )  # fmt: skip
    if as_json:
        echo_json(result)
        return
    from rich.table import Table

    from campaignlab import MODALITIES
    from campaignlab.progress import console

    table = Table(title=f"Top {len(result['recommendations'])} of {result['combinations']} combinations "
                        f"({cfg.objective}) for {predictor.name}")  # fmt: skip
    for col in ("#", "platform", "creative", "geo", "score", "tier", "P(neg)", "P(avg)", "P(pos)"):
        table.add_column(col)
    if cfg.explain:
        for m in MODALITIES:
            table.add_column(f"attr {m}")
    for r in result["recommendations"]:
        p = r["probabilities"]
        row = [str(r["rank"]), r["platform"], r["creative"][:60], ";".join(r["geo"]), f"{r['score']:.3f}",
               r["tier"], f"{p['negative']:.3f}", f"{p['average']:.3f}", f"{p['positive']:.3f}"]  # fmt: skip
        if cfg.explain:
            row += [f"{r['attribution'][m]:+.3f}" for m in MODALITIES]
        table.add_row(*row)
    console.print(table)
    typer.echo(f"scored {result['combinations']} combinations in {result['seconds']:.2f}s")


@app.command()
@handle_errors
def deploy(
    model: Path | None = typer.Option(None, "--model", help="model folder written by `train`"),
    registry: str | None = _REGISTRY,
    project: str = typer.Option(..., "--project", envvar="GOOGLE_CLOUD_PROJECT", help="Google Cloud project"),
    region: str = typer.Option("us-central1", "--region", envvar="GOOGLE_CLOUD_REGION", help="Vertex region"),
    artifact_uri: str = typer.Option(
        ..., "--artifact-uri", help="gs://BUCKET/PATH to upload the model folder to"
    ),
    image: str = typer.Option(
        ..., "--image", help="the serve image, e.g. REGION-docker.pkg.dev/P/R/campaignlab-serve:TAG"
    ),
    display_name: str = typer.Option("campaignlab", "--display-name", help="model and endpoint name"),
    endpoint: str | None = typer.Option(
        None, "--endpoint", help="existing endpoint id or name (default: create)"
    ),
    machine_type: str = typer.Option("n1-standard-2", "--machine-type", help="serving machine type"),
    min_replicas: int = typer.Option(1, "--min-replicas", min=1),
    max_replicas: int = typer.Option(1, "--max-replicas", min=1),
    service_account: str | None = typer.Option(
        None, "--service-account", help="service account of the model"
    ),
    api_endpoint: str | None = typer.Option(
        None, "--api-endpoint", envvar="CAMPAIGNLAB_VERTEX_ENDPOINT", help="Vertex AI API endpoint override"
    ),
    storage_endpoint: str | None = typer.Option(
        None,
        "--storage-endpoint",
        envvar="CAMPAIGNLAB_STORAGE_ENDPOINT",
        help="Cloud Storage endpoint override",
    ),
    as_json: bool = typer.Option(False, "--json", help="print the result as JSON"),
) -> None:
    """Upload a model to the Vertex AI Model Registry with the serve image and deploy it to an endpoint."""
    from campaignlab.serving.deploy import DeployConfig
    from campaignlab.serving.deploy import deploy as run
    from campaignlab.serving.models import resolve_model

    cfg = DeployConfig(
        project=project, region=region, artifact_uri=artifact_uri, image=image, display_name=display_name,
        endpoint=endpoint, machine_type=machine_type, min_replicas=min_replicas, max_replicas=max_replicas,
        service_account=service_account, api_endpoint=api_endpoint, storage_endpoint=storage_endpoint,
    )  # fmt: skip
    resolved = resolve_model(model, registry)
    result = run(cfg, resolved.path)
    if as_json:
        echo_json(result)
        return
    typer.echo(
        f"uploaded {result['model']} (version {result['model_version']}) and deployed it to "
        f"{result['endpoint']} as {result['deployed_model_id']}"
    )
