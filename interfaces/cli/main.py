"""The ``impact`` command: serve the app, load demo data, print a project's history.

Every refusal prints one plain line on stderr and exits with status 1; nothing is half-done.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import secrets
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from application.archive import ArchiveError, export_archive, import_archive
from application.bootstrap import create_tracker
from application.demo.accounts import DEMO_PASSWORD, create_demo_accounts
from application.demo.loader import load_demo, planned_steps
from application.errors import ApplicationError
from application.identity.service import (
    IdentityError,
    IdentityService,
    NewUser,
    create_identity_engine,
)
from application.integrity.signing import load_signer
from application.pseudonyms import load_pseudonymiser
from application.settings import Settings
from application.tracker import ImpactTracker
from domain.errors import DomainError
from domain.values import Role
from read_models.bootstrap import UnknownViewError, check_views, create_read_side
from read_models.integrity.checkpoints import Checkpoint, create_checkpoint
from read_models.integrity.proofs import check_proof, project_proof
from read_models.integrity.verify import verify as verify_store
from read_models.queries.exports import (
    MDC_COLUMNS,
    ORGANISATION_COLUMNS,
    PROJECT_COLUMNS,
    STAGE_COLUMNS,
    events_jsonl,
    measures_long,
    organisations_table,
    projects_table,
    stage_transitions,
)

app = typer.Typer(
    help="Impact tracker: event-sourced system change projects.",
    no_args_is_help=True,
    add_completion=False,
)
out = Console()
err = Console(stderr=True)


class CommandFailedError(Exception):
    """A refusal already phrased for the person at the terminal."""


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as e:
        first = e.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise CommandFailedError(f"setting IMPACT_{field.upper()}: {first['msg']}") from None


@contextmanager
def _tracker() -> Iterator[ImpactTracker]:
    tracker = create_tracker(_settings())
    try:
        yield tracker
    finally:
        tracker.close()


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="API processes.")] = 1,
) -> None:
    """Serve the web app and JSON API (several processes with --workers).

    With more than one worker the schema is created first, once, here; the workers share a
    CSRF secret; and the views are left to `impact project --follow` workers.
    """
    import uvicorn

    from interfaces.http.app import create_app
    from interfaces.http.workers import serve_processes

    settings = _settings()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if workers == 1:
        uvicorn.run(
            create_app(settings),
            host=host or settings.host,
            port=port or settings.port,
            log_level=settings.log_level,
        )
        return
    _upgrade(settings)
    os.environ["IMPACT_CREATE_SCHEMA"] = "false"
    os.environ.setdefault("IMPACT_SECRET_KEY", secrets.token_urlsafe(48))
    os.environ.setdefault("IMPACT_RUN_PROJECTIONS_IN_PROCESS", "false")
    if os.environ["IMPACT_RUN_PROJECTIONS_IN_PROCESS"] == "false":
        out.print("Views are not followed by the API processes: run `impact project --follow`.")
    serve_processes(workers, host or settings.host, port or settings.port, settings.log_level)


db_app = typer.Typer(help="The databases.", no_args_is_help=True)
app.add_typer(db_app, name="db")


def _upgrade(settings: Settings) -> None:
    """Create or upgrade every table: event store, views (rebuilding changed ones), identity."""
    schema = settings.model_copy(update={"create_schema": True})
    tracker = create_tracker(schema)
    try:
        create_read_side(schema, tracker).close()
        IdentityService(create_identity_engine(schema)).close()
    finally:
        tracker.close()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the schema once, before starting several processes."""
    _upgrade(_settings())
    out.print("The event store, views and identity tables are ready.")


@app.command()
def demo(
    force: Annotated[bool, typer.Option(help="Load even if the store already has events.")] = False,
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Do nothing (successfully) if the store has events.")
    ] = False,
) -> None:
    """Load the demo programme into an empty store."""
    with _tracker() as tracker:
        if tracker.head() and not force:
            if if_empty:
                out.print(f"The store already has {tracker.head()} events; demo not loaded.")
                return
            raise CommandFailedError(
                "The store is not empty; use --force to add the demo programme anyway."
            )
        with Progress(
            TextColumn("Loading demo programme"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=out,
            transient=True,
        ) as progress:
            task = progress.add_task("demo", total=planned_steps())
            summary = load_demo(tracker, lambda n: progress.advance(task, n))
        accounts = create_demo_accounts(_identity(), summary)
        out.print(
            f"Loaded {len(summary.projects)} projects, {len(summary.fellows)} fellows, "
            f"{len(summary.organisations)} organisations in {len(summary.cohorts)} cohorts "
            f"({summary.events} events)."
        )
        if accounts:
            out.print(f"Demo accounts (password {DEMO_PASSWORD}): {', '.join(accounts)}")


@app.command()
def project(
    views: Annotated[
        list[str] | None, typer.Argument(help="Views to keep current (default all).")
    ] = None,
    follow: Annotated[bool, typer.Option(help="Keep following the log until stopped.")] = False,
) -> None:
    """Bring the views up to date; with --follow, keep them current (a projection worker)."""
    with _tracker() as tracker:
        read_side = create_read_side(_settings(), tracker)
        names = check_views(views or [], read_side.runner.projections) or None
        try:
            if not follow:
                applied = read_side.runner.catch_up(names)
                out.print(f"Applied {applied} events; views are current.")
                return
            stop = threading.Event()
            signal.signal(signal.SIGTERM, lambda *_: stop.set())
            out.print(
                f"Following the log for {', '.join(names or read_side.runner.projections)} "
                "(Ctrl+C to stop)."
            )
            try:
                read_side.runner.follow(stop, _settings().projection_poll_seconds)
            except KeyboardInterrupt:
                stop.set()
        finally:
            read_side.close()


@app.command()
def rebuild(
    views: Annotated[
        list[str] | None, typer.Argument(help="Views to rebuild (default all).")
    ] = None,
) -> None:
    """Drop views and replay the whole log into them, with a progress bar."""
    with _tracker() as tracker:
        read_side = create_read_side(_settings(), tracker)
        names = check_views(views or [], read_side.runner.projections) or list(
            read_side.runner.projections
        )
        head = tracker.head()
        started = time.monotonic()
        try:
            with Progress(
                TextColumn(f"Rebuilding {', '.join(names)}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]} events/s"),
                TimeRemainingColumn(),
                console=out,
            ) as progress:
                task = progress.add_task("rebuild", total=head, rate="-")

                def advance(read: int) -> None:
                    done = progress.tasks[0].completed + read
                    rate = done / max(time.monotonic() - started, 1e-6)
                    progress.update(task, advance=read, rate=f"{rate:,.0f}")

                read_side.runner.rebuild(names, advance)
        finally:
            read_side.close()
        out.print(
            f"Rebuilt {', '.join(names)} from {head} events in {time.monotonic() - started:.1f}s."
        )


@app.command()
def status() -> None:
    """Each view's position against the head of the log (its lag)."""
    with _tracker() as tracker:
        read_side = create_read_side(_settings(), tracker)
        try:
            table = Table("view", "position", "head", "lag")
            for s in read_side.runner.status():
                table.add_row(s.view, str(s.position), str(s.head), str(s.lag))
            out.print(table)
        finally:
            read_side.close()


users_app = typer.Typer(help="Accounts.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")


def _identity() -> IdentityService:
    return IdentityService(create_identity_engine(_settings()))


@users_app.command("create")
def users_create(
    user_id: Annotated[str, typer.Argument(help="Letters, digits, . _ @ -")],
    role: Annotated[Role, typer.Option(help="fellow, sponsor, evaluator or admin.")],
    name: Annotated[str | None, typer.Option(help="Display name (default: the id).")] = None,
    fellow_id: Annotated[str | None, typer.Option(help="The fellow this user is.")] = None,
    organisation: Annotated[
        list[str] | None,
        typer.Option(help="An organisation id the user belongs to (sponsors); repeat for more."),
    ] = None,
    password: Annotated[bool, typer.Option(help="Ask for a password (web sign-in).")] = True,
) -> None:
    """Create an account; with --password (default) you are asked for its password."""
    secret = (
        typer.prompt("Password", hide_input=True, confirmation_prompt=True) if password else None
    )
    try:
        new = NewUser(
            user_id=user_id,
            display_name=name or user_id,
            role=role,
            password=secret,
            fellow_id=UUID(fellow_id) if fellow_id else None,
            organisation_ids=[UUID(o) for o in organisation or []],
        )
        user = _identity().create_user(new)
    except (ValidationError, ValueError, IdentityError) as e:
        raise CommandFailedError(_first_error(e)) from None
    out.print(f"Created {user.role.value} {user.user_id}.")


@users_app.command("list")
def users_list() -> None:
    """List accounts."""
    table = Table("user", "name", "role", "fellow")
    for user in _identity().list_users():
        table.add_row(user.user_id, user.display_name, user.role.value, str(user.fellow_id or ""))
    out.print(table)


@tokens_app.command("create")
def tokens_create(
    user_id: Annotated[str, typer.Argument(help="Whose token.")],
    name: Annotated[str, typer.Option(help="What the token is for.")] = "api",
) -> None:
    """Create an API token and print it once (only its hash is kept)."""
    try:
        token = _identity().create_token(user_id, name)
    except IdentityError as e:
        raise CommandFailedError(str(e)) from None
    typer.echo(token)


@tokens_app.command("revoke")
def tokens_revoke(user_id: Annotated[str, typer.Argument(help="Whose tokens.")]) -> None:
    """Revoke every token of a user."""
    out.print(f"Revoked {_identity().revoke_tokens(user_id)} token(s) of {user_id}.")


def _first_error(error: Exception) -> str:
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return str(error)


export_app = typer.Typer(
    help="Exports: --all FILE for a full backup, or one export below.", invoke_without_command=True
)
app.add_typer(export_app, name="export")


@export_app.callback()
def export_all(
    context: typer.Context,
    archive: Annotated[
        Path | None,
        typer.Option(
            "--all", help="Write a complete, checkable archive of the event store to this file."
        ),
    ] = None,
) -> None:
    """Back up the whole event store (``--all FILE``), or run an export subcommand."""
    if context.invoked_subcommand is not None:
        return
    if archive is None:
        raise CommandFailedError("Give --all FILE, or an export such as 'measures'.")
    with _tracker() as tracker, _bar("Exporting events", tracker.head()) as advance:
        count = export_archive(tracker, archive, advance)
    out.print(f"Wrote {count} events to {archive}.")


@app.command("import")
def import_(
    archive: Annotated[Path, typer.Argument(help="An archive from 'export --all'.")],
) -> None:
    """Restore an archive into an empty store (checked in full before anything is written)."""
    with _tracker() as tracker:
        try:
            with _bar("Importing events", None) as advance:
                count = import_archive(tracker, archive, advance)
        except ArchiveError as e:
            raise CommandFailedError(f"nothing imported: {e}") from None
    out.print(f"Imported {count} events from {archive}; run 'impact rebuild' for the views.")


@contextmanager
def _bar(label: str, total: int | None) -> Iterator[Callable[[int], None]]:
    with Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=out,
        transient=True,
    ) as progress:
        task = progress.add_task(label, total=total)
        yield lambda n: progress.advance(task, n)


class ExportFormat(StrEnum):
    """Export file formats."""

    CSV = "csv"


def _write_rows(
    rows: Iterator[dict[str, Any]], columns: list[str] | None, output: Path | None
) -> int:
    """CSV (with ``columns``) or JSON lines to a file or stdout; returns the row count."""
    stream = output.open("w", newline="") if output else sys.stdout
    count = 0
    try:
        writer = csv.DictWriter(stream, fieldnames=columns) if columns else None
        if writer:
            writer.writeheader()
        for row in rows:
            if writer:
                writer.writerow(row)
            else:
                stream.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    finally:
        if output:
            stream.close()
    if output:
        out.print(f"Wrote {count} rows to {output}.")
    return count


@contextmanager
def _views() -> Iterator[tuple[ImpactTracker, Any]]:
    with _tracker() as tracker:
        read_side = create_read_side(_settings(), tracker)
        try:
            read_side.runner.catch_up()
            yield tracker, read_side.engine
        finally:
            read_side.close()


Output = Annotated[Path | None, typer.Option(help="File to write (default: stdout).")]
CohortOption = Annotated[str | None, typer.Option("--cohort", help="Only this cohort's projects.")]


@export_app.command("events")
def export_events(
    output: Output = None,
    cohort: CohortOption = None,
    since: Annotated[str | None, typer.Option(help="Effective on or after (YYYY-MM-DD).")] = None,
    until: Annotated[str | None, typer.Option(help="Effective on or before (YYYY-MM-DD).")] = None,
    real_ids: Annotated[
        bool, typer.Option(help="People as their real ids, not pseudonyms (admins only).")
    ] = False,
) -> None:
    """Every event as JSON lines, both time axes, people as stable pseudonyms."""
    try:
        since_day = date.fromisoformat(since) if since else None
        until_day = date.fromisoformat(until) if until else None
        cohort_id = UUID(cohort) if cohort else None
    except ValueError as e:
        raise CommandFailedError(f"bad filter: {e}") from None
    with _views() as (tracker, engine):
        members = None
        if cohort_id:
            members = {UUID(r["project_id"]) for r in projects_table(engine, cohort_id=cohort_id)}
        pseudonym = None if real_ids else load_pseudonymiser(_settings())
        _write_rows(
            events_jsonl(
                tracker, pseudonym, cohort_projects=members, since=since_day, until=until_day
            ),
            None,
            output,
        )


@export_app.command("stage-transitions")
def export_stage_transitions(output: Output = None, cohort: CohortOption = None) -> None:
    """Each stage each project entered (from, to, effective date, recorded time) as CSV."""
    with _views() as (_, engine):
        _write_rows(
            stage_transitions(engine, cohort_id=UUID(cohort) if cohort else None),
            STAGE_COLUMNS,
            output,
        )


@export_app.command("projects")
def export_projects(output: Output = None, cohort: CohortOption = None) -> None:
    """One row per project (stage, dates, cohort, system, lead organisation) as CSV."""
    with _views() as (_, engine):
        _write_rows(
            projects_table(engine, cohort_id=UUID(cohort) if cohort else None),
            PROJECT_COLUMNS,
            output,
        )


@export_app.command("organisations")
def export_organisations(output: Output = None) -> None:
    """One row per organisation as CSV."""
    with _views() as (_, engine):
        _write_rows(organisations_table(engine), ORGANISATION_COLUMNS, output)


@export_app.command("measures")
def export_measures(
    output: Annotated[Path | None, typer.Option(help="File to write (default: stdout).")] = None,
    file_format: Annotated[ExportFormat, typer.Option("--format", help="File format.")] = (
        ExportFormat.CSV
    ),
    recalculate_at_pilot: Annotated[
        bool, typer.Option(help="Mark limits to be recalculated from each project's first pilot.")
    ] = True,
) -> None:
    """Every measure's points in Making Data Count's long format (one row per point)."""
    with _tracker() as tracker:
        read_side = create_read_side(_settings(), tracker)
        try:
            read_side.runner.catch_up()
            stream = output.open("w", newline="") if output else sys.stdout
            try:
                writer = csv.DictWriter(stream, fieldnames=MDC_COLUMNS)
                writer.writeheader()
                count = 0
                for row in measures_long(
                    read_side.engine, recalculate_at_pilot=recalculate_at_pilot
                ):
                    writer.writerow(row)
                    count += 1
            finally:
                if output:
                    stream.close()
        finally:
            read_side.close()
    if output:
        out.print(f"Wrote {count} points ({file_format.value}) to {output}.")


@app.command()
def checkpoint() -> None:
    """Bring the integrity view up to date and sign a checkpoint of the log."""
    with _tracker() as tracker:
        read_side = create_read_side(_settings(), tracker)
        try:
            read_side.runner.catch_up(["integrity"])
            made = create_checkpoint(read_side.engine, load_signer(_settings()))
        finally:
            read_side.close()
    out.print(
        f"Checkpoint {made.seq}: {made.size} events, root {made.root}, "
        f"key {made.public_key[:16]}..."
    )


@app.command()
def verify(
    checkpoint_file: Annotated[
        Path | None,
        typer.Option(
            "--checkpoint", help="A saved checkpoint (JSON from the API) to verify a project by."
        ),
    ] = None,
    project_id: Annotated[
        str | None,
        typer.Option("--project", help="The project whose history to prove against --checkpoint."),
    ] = None,
) -> None:
    """Recompute every hash from the event store; exit 1 on any mismatch.

    With --checkpoint and --project, prove instead that the project's events are in the log
    that checkpoint signed, unchanged (an inclusion proof per event).
    """
    if checkpoint_file or project_id:
        _verify_project(checkpoint_file, project_id)
        return
    with _tracker() as tracker:
        read_side = create_read_side(_settings(), tracker)
        try:
            report = verify_store(tracker, read_side.engine)
        finally:
            read_side.close()
    out.print(f"Checked {report.events} stored events against {report.recorded} recorded.")
    for problem in report.problems:
        err.print(f"[red]{problem.kind}:[/red] {problem.detail}", highlight=False)
    for made, ok, detail in report.checkpoints:
        mark = "[green]ok[/green]" if ok else "[red]FAILED[/red]"
        out.print(f"checkpoint {made.seq} ({made.size} events): {mark} {detail}", highlight=False)
    if not report.ok:
        raise SystemExit(1)
    out.print("[green]The log is intact.[/green]")


def _verify_project(checkpoint_file: Path | None, project_id: str | None) -> None:
    if checkpoint_file is None or project_id is None:
        raise CommandFailedError("Give both --checkpoint FILE and --project ID.")
    try:
        saved = Checkpoint.model_validate_json(checkpoint_file.read_text())
        pid = UUID(project_id)
    except (OSError, ValueError) as e:
        raise CommandFailedError(f"can't read the checkpoint or project id: {e}") from None
    with _tracker() as tracker:
        proof = project_proof(tracker, pid, saved.size)
    failures = check_proof(proof, saved)
    for failure in failures:
        err.print(f"[red]failed:[/red] {failure}", highlight=False)
    if failures:
        raise SystemExit(1)
    out.print(
        f"[green]Verified:[/green] {len(proof.proofs)} events of project {pid} are in "
        f"checkpoint {saved.seq} ({saved.size} events, root {saved.root[:16]}...)."
    )


@app.command()
def projects() -> None:
    """List projects (id and title) in the order they were proposed."""
    with _tracker() as tracker:
        table = Table("id", "title")
        for project_id, title in tracker.proposed_projects():
            table.add_row(str(project_id), title)
        out.print(table)


@app.command()
def history(
    project_id: Annotated[str, typer.Argument(help="The project's id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines.")] = False,
) -> None:
    """Print a project's whole event history."""
    try:
        pid = UUID(project_id)
    except ValueError:
        raise CommandFailedError(f"{project_id!r} is not a project id (a UUID).") from None
    with _tracker() as tracker:
        entries = tracker.history(pid)
        if as_json:
            for entry in entries:
                typer.echo(entry.model_dump_json())
            return
        table = Table(
            "v",
            "event",
            "effective",
            "recorded (UTC)",
            "by",
            "details",
            title=f"History of project {pid}",
        )
        for e in entries:
            table.add_row(
                str(e.version),
                e.event_type,
                e.occurred_on.isoformat(),
                e.recorded_at.strftime("%Y-%m-%d %H:%M:%S"),
                f"{e.actor.user_id} ({e.actor.role})",
                json.dumps(e.data, ensure_ascii=False)[:120],
            )
        out.print(table)


def _run(entry: Callable[[], None]) -> None:
    try:
        entry()
    except (CommandFailedError, DomainError, ApplicationError, UnknownViewError) as e:
        err.print(f"[red]error:[/red] {e}", highlight=False)
        raise SystemExit(1) from None


def main() -> None:
    """Console-script entry point: typer app with one-line errors."""
    _run(app)
