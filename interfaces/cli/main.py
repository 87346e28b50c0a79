"""The ``impact`` command: serve the app, load demo data, print a project's history.

Every refusal prints one plain line on stderr and exits with status 1; nothing is half-done.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from application.archive import ArchiveError, export_archive, import_archive
from application.bootstrap import create_tracker
from application.demo.accounts import DEMO_PASSWORD, create_demo_accounts
from application.demo.loader import load_demo, planned_steps
from application.erasure import erase_person
from application.errors import ApplicationError
from application.identity.service import (
    IdentityError,
    IdentityService,
    NewUser,
    create_identity_engine,
)
from application.integrity.signing import load_signer, trusted_keys
from application.pseudonyms import Pseudonymiser, load_pseudonymiser
from application.settings import Settings
from application.tracker import ImpactTracker
from domain.errors import DomainError
from domain.values import SYSTEM_ACTOR, Actor, ErasureReason, Role
from read_models.bootstrap import UnknownViewError, check_views, create_read_side
from read_models.integrity.checkpoints import (
    Checkpoint,
    CheckpointsExistError,
    create_checkpoint,
    list_checkpoints,
    restore_checkpoints,
)
from read_models.integrity.proofs import check_proof, project_proof
from read_models.integrity.verify import verify as verify_store
from read_models.queries.common import AsAt, Axis
from read_models.queries.exports import (
    MDC_COLUMNS,
    ORGANISATION_COLUMNS,
    PROJECT_COLUMNS,
    STAGE_COLUMNS,
    ProjectScope,
    check_dates,
    check_scope,
    events_jsonl,
    measures_long,
    organisations_table,
    projects_table,
    scoped_projects,
    stage_transitions,
)
from read_models.queries.parquet import ParquetUnavailableError, write_parquet

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

    With more than one worker the schema is created first, once, here; the workers share the
    CSRF secret (IMPACT_SECRET_KEY, or the one kept in the data directory); and the views are
    left to `impact project --follow` workers.
    """
    import uvicorn

    from interfaces.http.asgi import serving_app
    from interfaces.http.workers import serve_processes

    settings = _settings()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if workers == 1:
        uvicorn.run(
            serving_app(settings),
            host=host or settings.host,
            port=port or settings.port,
            log_level=settings.log_level,
        )
        return
    _upgrade(settings)
    os.environ["IMPACT_CREATE_SCHEMA"] = "false"
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
                read_side.runner.follow(stop, _settings().projection_poll_seconds, names)
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


people_app = typer.Typer(
    help="Fellows' personal details: show them, or erase them (UK GDPR).", no_args_is_help=True
)
app.add_typer(people_app, name="people")


def _fellow_id(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise CommandFailedError(f"{text!r} is not a fellow id (a UUID).") from None


@people_app.command("show")
def people_show(fellow_id: Annotated[str, typer.Argument(help="The fellow's id.")]) -> None:
    """Show a fellow's enrolment and personal details (or that they were erased)."""
    with _tracker() as tracker:
        found = tracker.fellow(_fellow_id(fellow_id))
    table = Table("field", "value", title=f"Fellow {found.fellow_id}")
    rows = {
        "name": found.name or "(not recorded)",
        "email": found.email or "",
        "role": found.role_title,
        "cohort": str(found.cohort_id),
        "organisation": str(found.organisation_id),
        "erased": f"yes, on {found.erased_on}" if found.erased else "no",
    }
    for label, value in rows.items():
        table.add_row(label, escape(value))  # "[erased]" (or a name) is text, not markup
    out.print(table)


def _erasing_actor(by: str | None) -> Actor:
    """Who the erasure event names: an admin account, or the system (the operator's terminal)."""
    if by is None:
        return SYSTEM_ACTOR
    identity = _identity()
    try:
        user = identity.get_user(by)
    finally:
        identity.close()
    if user is None or user.disabled or user.role is not Role.ADMIN:
        raise CommandFailedError(f"--by must name an enabled admin account; {by} is not one.")
    return user.actor


@people_app.command("erase")
def people_erase(
    fellow_id: Annotated[str, typer.Argument(help="The fellow's id.")],
    reason: Annotated[
        ErasureReason, typer.Option(help="Why (a category, recorded in the log).")
    ] = ErasureReason.REQUESTED_BY_PERSON,
    yes: Annotated[bool, typer.Option("--yes", help="Don't ask for confirmation.")] = False,
    by: Annotated[
        str | None, typer.Option(help="The admin account doing this (recorded as the actor).")
    ] = None,
) -> None:
    """Erase a fellow's name and email for good (their key is destroyed); asks first.

    Also renames and disables their user accounts and deletes their tokens and sessions.
    Running it again for an erased fellow records nothing and finishes any purge left undone.
    """
    fid = _fellow_id(fellow_id)
    actor = _erasing_actor(by)
    with _tracker() as tracker:
        found = tracker.fellow(fid)
        if not found.erased and not yes:
            who = f"{found.name}, {found.role_title}" if found.name else found.role_title
            if not typer.confirm(
                f"Erase the personal details of fellow {fid} ({who})? This can't be undone."
            ):
                err.print("Nothing erased: not confirmed.")
                raise typer.Exit(1)
        identity = _identity()
        try:
            result = erase_person(tracker, identity, actor, fid, reason)
        finally:
            identity.close()
    if result.already_erased:
        out.print(
            f"Fellow {fid} was already erased on {result.erased_on}; nothing new was recorded."
        )
    else:
        out.print(
            f"Erased fellow {fid}: recorded the erasure (reason: {result.reason.value}) and "
            + (
                "destroyed their key, so their name and email can never be read again."
                if result.key_destroyed
                else "found no key (they were enrolled before names were recorded)."
            )
        )
    if result.accounts_anonymised:
        out.print(
            f"Anonymised {len(result.accounts_anonymised)} account(s) "
            f'({", ".join(result.accounts_anonymised)}): renamed "Erased person", disabled, '
            "tokens and sessions deleted."
        )
    if not result.storage_purged:
        err.print(
            "A database was busy, so the erased data may still be in its files (a write-ahead "
            "log, a dead row): run this command again to finish; it records nothing new."
        )
        raise typer.Exit(1)


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
    with _tracker() as tracker:
        read_side = create_read_side(_settings(), tracker)
        try:
            signed = list_checkpoints(read_side.engine)
        finally:
            read_side.close()
        try:
            with _bar("Exporting events", tracker.head()) as advance:
                count = export_archive(tracker, archive, advance, signed)
        except OSError as e:
            msg = f"can't write the archive {archive}: {e.strerror or e}"
            raise CommandFailedError(msg) from None
    out.print(f"Wrote {count} events and {len(signed)} signed checkpoint(s) to {archive}.")


@app.command("import")
def import_(
    archive: Annotated[Path, typer.Argument(help="An archive from 'export --all'.")],
) -> None:
    """Restore an archive into an empty store (checked in full before anything is written).

    Its signed checkpoints go back into the views database; each must be signed by a key
    this tracker trusts and agree with the archive's events, or nothing is imported.
    """
    settings = _settings()
    restored: list[Checkpoint] = []
    with _tracker() as tracker:
        read_side = create_read_side(settings, tracker)

        def keep(checkpoints: list[Checkpoint]) -> None:
            restore_checkpoints(read_side.engine, checkpoints)
            restored.extend(checkpoints)

        try:
            with _bar("Importing events", None) as advance:
                count = import_archive(
                    tracker,
                    archive,
                    advance,
                    trusted=trusted_keys(settings),
                    restore_checkpoints=keep,
                )
        except (ArchiveError, CheckpointsExistError) as e:
            raise CommandFailedError(f"nothing imported: {e}") from None
        finally:
            read_side.close()
    out.print(
        f"Imported {count} events and {len(restored)} signed checkpoint(s) from {archive}; "
        "run 'impact rebuild' for the views."
    )


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
    """Export file formats for the tables (Parquet needs the optional 'parquet' extra)."""

    CSV = "csv"
    PARQUET = "parquet"


FormatOption = Annotated[
    ExportFormat,
    typer.Option("--format", help="File format: csv, or parquet (typed columns; needs pyarrow)."),
]


def _row_progress(what: str) -> Progress:
    """A progress bar on stderr, shown only on a terminal (so piped output stays clean)."""
    return Progress(
        TextColumn(f"Exporting {what}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
        disable=not sys.stderr.isatty(),
    )


def _write_rows(
    rows: Iterator[dict[str, Any]],
    columns: list[str] | None,
    output: Path | None,
    what: str = "rows",
    total: int | None = None,
    file_format: ExportFormat = ExportFormat.CSV,
) -> int:
    """CSV or Parquet (with ``columns``) or JSON lines to a file or stdout; returns the count.

    Rows are written as they stream in; on a terminal a progress bar on stderr counts them
    (with ``total``, an estimate of how many to expect, it also shows the time left).
    """
    if file_format is ExportFormat.PARQUET and columns is not None:
        return _write_parquet(rows, columns, output, what, total)
    stream = output.open("w", newline="") if output else sys.stdout
    count = 0
    progress = _row_progress(what)
    try:
        with progress:
            task = progress.add_task(what, total=total)
            writer = csv.DictWriter(stream, fieldnames=columns) if columns else None
            if writer:
                writer.writeheader()
            for row in rows:
                if writer:
                    writer.writerow(row)
                else:
                    stream.write(json.dumps(row, ensure_ascii=False) + "\n")
                count += 1
                if count % 500 == 0:
                    progress.update(task, completed=count)
    finally:
        if output:
            stream.close()
    if output:
        out.print(f"Wrote {count} {what} to {output}.")
    return count


def _write_parquet(
    rows: Iterator[dict[str, Any]],
    columns: list[str],
    output: Path | None,
    what: str,
    total: int | None,
) -> int:
    """Parquet to a file, or to stdout when it is not a terminal (the file is binary)."""
    if output is None and sys.stdout.isatty():
        raise CommandFailedError("Parquet is binary: give --output FILE, or redirect stdout.")
    with _row_progress(what) as progress:
        task = progress.add_task(what, total=total)
        try:
            count = write_parquet(
                rows, columns, output or sys.stdout.buffer, lambda n: progress.advance(task, n)
            )
        except ParquetUnavailableError as e:
            raise CommandFailedError(str(e)) from None
    if output:
        out.print(f"Wrote {count} {what} to {output}.")
    return count


@contextmanager
def _views(scope: ProjectScope | None = None) -> Iterator[tuple[ImpactTracker, Any]]:
    """The tracker and the caught-up views; a scope naming an unknown id is refused first."""
    with _tracker() as tracker:
        read_side = create_read_side(_settings(), tracker)
        try:
            read_side.runner.catch_up()
            if scope is not None:
                try:
                    check_scope(read_side.engine, scope)
                except ApplicationError as e:
                    raise _bad_filter(e) from None
            yield tracker, read_side.engine
        finally:
            read_side.close()


Output = Annotated[Path | None, typer.Option(help="File to write (default: stdout).")]
CohortOption = Annotated[
    str | None, typer.Option("--cohort", metavar="ID", help="Only this cohort's projects.")
]
SystemOption = Annotated[
    str | None,
    typer.Option(
        "--system",
        metavar="ID",
        help="Only the projects of cohorts in this integrated care system.",
    ),
]
OrganisationOption = Annotated[
    str | None,
    typer.Option(
        "--organisation",
        metavar="ID",
        help="Only the projects this organisation leads, partners in, pilots or adopted "
        "(with --as-at: involvements begun by then).",
    ),
]
SinceOption = Annotated[
    str | None,
    typer.Option("--since", metavar="DATE", help="Only rows effective on or after (YYYY-MM-DD)."),
]
UntilOption = Annotated[
    str | None,
    typer.Option("--until", metavar="DATE", help="Only rows effective on or before (YYYY-MM-DD)."),
]
AsAtOption = Annotated[
    str | None,
    typer.Option(
        "--as-at",
        metavar="DATE",
        help="The export as it stood then: a date (YYYY-MM-DD; on the recorded axis, its end) "
        "or, on the recorded axis, a moment with time zone (2025-03-31T17:00:00Z). Needs --axis.",
    ),
]
AxisOption = Annotated[
    str | None,
    typer.Option(
        "--axis",
        metavar="recorded|effective",
        help="With --as-at: recorded (what had been recorded by then) or effective (what had "
        "taken effect by then).",
    ),
]

# The option behind each field a refusal names, so the person sees what they typed.
_FILTER_OPTIONS = {
    "cohort_id": "--cohort",
    "system_id": "--system",
    "organisation_id": "--organisation",
    "since": "--since",
    "until": "--until",
}


@dataclass(frozen=True)
class _Filters:
    """An export's filters, parsed and checked."""

    scope: ProjectScope
    since: date | None
    until: date | None
    as_at: AsAt | None


def _filters(
    *,
    cohort: str | None = None,
    system: str | None = None,
    organisation: str | None = None,
    since: str | None = None,
    until: str | None = None,
    as_at: str | None = None,
    axis: str | None = None,
) -> _Filters:
    """The filters from their options' text, refused (naming the option) before any work."""
    filters = _Filters(
        scope=ProjectScope(
            cohort_id=_filter_id("--cohort", cohort),
            system_id=_filter_id("--system", system),
            organisation_id=_filter_id("--organisation", organisation),
        ),
        since=_filter_day("--since", since),
        until=_filter_day("--until", until),
        as_at=_filter_as_at(as_at, axis),
    )
    try:
        check_dates(filters.since, filters.until)
    except ApplicationError as e:
        raise _bad_filter(e) from None
    return filters


def _bad_filter(error: ApplicationError) -> CommandFailedError:
    option = _FILTER_OPTIONS.get(error.field or "", error.field)
    return CommandFailedError(f"bad filter {option}: {error.message}")


def _filter_id(option: str, text: str | None) -> UUID | None:
    try:
        return UUID(text) if text is not None else None
    except ValueError:
        raise CommandFailedError(f"bad filter {option}: {text!r} is not an id (a UUID).") from None


def _filter_day(option: str, text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text is not None else None
    except ValueError:
        msg = f"bad filter {option}: {text!r} is not a date like 2025-03-31."
        raise CommandFailedError(msg) from None


def _filter_as_at(text: str | None, axis: str | None) -> AsAt | None:
    """An as-at point from ``--as-at`` and ``--axis``: both or neither, as the API asks."""
    if text is None and axis is None:
        return None
    if text is None:
        raise CommandFailedError("bad filter --axis: give --as-at too.")
    if axis not in {a.value for a in Axis}:
        msg = "bad filter --axis: give --axis recorded or --axis effective with --as-at."
        raise CommandFailedError(msg)
    try:
        moment: date | datetime = (
            date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
        )
    except ValueError:
        msg = (
            f"bad filter --as-at: {text!r} is neither a date like 2025-03-31 "
            "nor a moment like 2025-03-31T17:00:00Z."
        )
        raise CommandFailedError(msg) from None
    if isinstance(moment, datetime) and moment.tzinfo is None:
        msg = "bad filter --as-at: a moment needs a time zone, for example 2025-03-31T17:00:00Z."
        raise CommandFailedError(msg)
    return AsAt(axis=Axis(axis), moment=moment)


def _pseudonymiser() -> Pseudonymiser:
    """The deployment's pseudonyms, with fellows' accounts sharing their fellow's."""
    identity = _identity()
    try:
        return load_pseudonymiser(_settings(), identity)
    finally:
        identity.close()


@export_app.command("events")
def export_events(
    output: Output = None,
    cohort: CohortOption = None,
    system: SystemOption = None,
    organisation: OrganisationOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    as_at: AsAtOption = None,
    axis: AxisOption = None,
    real_ids: Annotated[
        bool, typer.Option(help="People as their real ids, not pseudonyms (admins only).")
    ] = False,
) -> None:
    """Every event as JSON lines, both time axes, people as stable pseudonyms."""
    f = _filters(
        cohort=cohort,
        system=system,
        organisation=organisation,
        since=since,
        until=until,
        as_at=as_at,
        axis=axis,
    )
    with _views(f.scope) as (tracker, engine):
        pseudonym = None if real_ids else _pseudonymiser()
        rows = events_jsonl(
            tracker,
            pseudonym,
            projects=scoped_projects(engine, f.scope, f.as_at),
            since=f.since,
            until=f.until,
            as_at=f.as_at,
        )
        _write_rows(rows, None, output, what="events", total=tracker.head())


@export_app.command("stage-transitions")
def export_stage_transitions(
    output: Output = None,
    file_format: FormatOption = ExportFormat.CSV,
    cohort: CohortOption = None,
    system: SystemOption = None,
    organisation: OrganisationOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    as_at: AsAtOption = None,
    axis: AxisOption = None,
) -> None:
    """Each stage each project entered (from, to, effective date, recorded time) as CSV."""
    f = _filters(
        cohort=cohort,
        system=system,
        organisation=organisation,
        since=since,
        until=until,
        as_at=as_at,
        axis=axis,
    )
    with _views(f.scope) as (_, engine):
        rows = stage_transitions(engine, scope=f.scope, since=f.since, until=f.until, as_at=f.as_at)
        _write_rows(rows, STAGE_COLUMNS, output, file_format=file_format)


@export_app.command("projects")
def export_projects(
    output: Output = None,
    file_format: FormatOption = ExportFormat.CSV,
    cohort: CohortOption = None,
    system: SystemOption = None,
    organisation: OrganisationOption = None,
    as_at: AsAtOption = None,
    axis: AxisOption = None,
) -> None:
    """One row per project (stage, status, dates, cohort, system, lead organisation) as CSV.

    With --as-at, only the projects that existed then, each as it stood then.
    """
    f = _filters(cohort=cohort, system=system, organisation=organisation, as_at=as_at, axis=axis)
    with _views(f.scope) as (_, engine):
        rows = projects_table(engine, scope=f.scope, as_at=f.as_at)
        _write_rows(rows, PROJECT_COLUMNS, output, file_format=file_format)


@export_app.command("organisations")
def export_organisations(
    output: Output = None,
    file_format: FormatOption = ExportFormat.CSV,
    system: Annotated[
        str | None,
        typer.Option(
            "--system", metavar="ID", help="Only this integrated care system's organisations."
        ),
    ] = None,
) -> None:
    """One row per organisation as CSV."""
    f = _filters(system=system)
    with _views(f.scope) as (_, engine):
        rows = organisations_table(engine, system_id=f.scope.system_id)
        _write_rows(rows, ORGANISATION_COLUMNS, output, file_format=file_format)


@export_app.command("measures")
def export_measures(
    output: Output = None,
    file_format: FormatOption = ExportFormat.CSV,
    recalculate_at_pilot: Annotated[
        bool,
        typer.Option(
            help="Also recalculate limits from each project's first pilot (the charts use "
            "only the recalculation points the fellows marked)."
        ),
    ] = False,
    cohort: CohortOption = None,
    system: SystemOption = None,
    organisation: OrganisationOption = None,
    since: Annotated[
        str | None,
        typer.Option("--since", metavar="DATE", help="Only periods on or after (YYYY-MM-DD)."),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option("--until", metavar="DATE", help="Only periods on or before (YYYY-MM-DD)."),
    ] = None,
    as_at: AsAtOption = None,
    axis: AxisOption = None,
) -> None:
    """Every measure's points in Making Data Count's long format (one row per point).

    With --as-at, the measures defined by then, each series as it stood then.
    """
    f = _filters(
        cohort=cohort,
        system=system,
        organisation=organisation,
        since=since,
        until=until,
        as_at=as_at,
        axis=axis,
    )
    with _views(f.scope) as (_, engine):
        rows = measures_long(
            engine,
            recalculate_at_pilot=recalculate_at_pilot,
            scope=f.scope,
            since=f.since,
            until=f.until,
            as_at=f.as_at,
        )
        _write_rows(rows, MDC_COLUMNS, output, what="points", file_format=file_format)


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
    settings = _settings()
    with _tracker() as tracker:
        read_side = create_read_side(settings, tracker)
        try:
            report = verify_store(tracker, read_side.engine, trusted_keys(settings))
        finally:
            read_side.close()
    if report.empty:
        out.print("The event store is empty and no checkpoint was signed: nothing to verify.")
        return
    out.print(f"Checked {report.events} stored events against {report.recorded} recorded.")
    for problem in report.problems:
        err.print(f"[red]{problem.kind}:[/red] {problem.detail}", highlight=False)
    for made, ok, detail in report.checkpoints:
        mark = "[green]ok[/green]" if ok else "[red]FAILED[/red]"
        out.print(f"checkpoint {made.seq} ({made.size} events): {mark} {detail}", highlight=False)
    for pair in report.consistency:
        mark = {"consistent": "[green]consistent[/green]", "unchecked": "not checked"}.get(
            pair.status, "[red]INCONSISTENT[/red]"
        )
        out.print(
            f"checkpoint {pair.first.seq} -> {pair.second.seq}: {mark} ({pair.detail})",
            highlight=False,
        )
    if report.unrecorded:
        out.print(
            f"Note: the integrity view has not recorded the last {report.unrecorded} events "
            "yet ('impact project integrity'): they were checked only against the checkpoints "
            "and their streams' versions.",
            highlight=False,
        )
    if not report.checkpoints:
        out.print(
            "Note: no checkpoint is signed yet ('impact checkpoint'): only the hashes recorded "
            "by the integrity view vouch for the log.",
            highlight=False,
        )
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
    settings = _settings()
    with _tracker() as tracker:
        proof = project_proof(tracker, pid, saved.size)
    failures = check_proof(proof, saved, trusted_keys(settings))
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
