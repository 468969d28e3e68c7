"""Reading the pool back: check every row, then write all of it or nothing."""

import zipfile
from dataclasses import dataclass, field
from datetime import date

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import IntegrityError, transaction
from django.db.models import Prefetch, Q
from django.utils.translation import gettext as _
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from accounts.models import Organization, User
from accounts.validators import validate_credit_code
from experts import services
from experts.excel.columns import (
    BY_HEADER,
    BY_KEY,
    COLUMNS,
    EXAMPLE_USERNAME,
    FIELD_BY_LABEL,
    FIELD_LABELS,
    MAX_COLUMNS,
    MAX_ROWS,
    NO,
    SHEET,
    SPLIT_LIST,
    SPLIT_PERSON,
    TYPE_LABELS,
    YES,
)
from experts.models import Employment, Expert
from proposals.validators import validate_id_number

MAX_CAP = 32767  # PositiveSmallIntegerField
MAX_LINES = 4 * MAX_ROWS  # blank lines included
MAX_UNPACKED_BYTES = 100 * 1024 * 1024


@dataclass(frozen=True)
class Problem:
    row: int  # spreadsheet row number; 0 for the file as a whole
    column: str  # the column header, "" for the file or the whole row
    reason: str


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def rows(self) -> int:
        return self.created + self.updated + self.unchanged


class _Rollback(Exception):
    """A row failed while writing (a concurrent change): undo the whole import."""


@dataclass
class _Row:
    number: int
    cells: dict  # column key → raw value
    problems: list[Problem] = field(default_factory=list)
    values: dict = field(default_factory=dict)

    def text(self, key: str) -> str:
        return _text(self.cells.get(key))

    def fail(self, key: str, reason) -> None:
        self.problems.append(Problem(self.number, BY_KEY[key].header if key else "", str(reason)))


def import_pool(upload, *, actor, on: date | None = None) -> ImportResult:
    """Import an uploaded .xlsx. Nothing changes unless every row is valid."""
    result = ImportResult()
    rows = _read(upload, result)
    if not result.ok:
        return result
    if not rows:
        result.problems.append(Problem(0, "", _("The sheet has no expert rows.")))
        return result
    try:
        with transaction.atomic():
            data = _validate(rows, result)
            if not result.ok:
                return result
            _write(data, result, actor=actor, on=on)
    except _Rollback:
        result.created = result.updated = result.unchanged = 0
    return result


# --- reading ------------------------------------------------------------------------------
def _read(upload, result: ImportResult) -> list[_Row]:
    not_xlsx = Problem(0, "", _("This is not an .xlsx workbook. Save the file as .xlsx and retry."))
    # A few compressed megabytes can unpack to gigabytes, and openpyxl holds the shared
    # strings in memory: refuse by the sizes the archive declares (reads stop there).
    try:
        with zipfile.ZipFile(upload) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError):
        result.problems.append(not_xlsx)
        return []
    if unpacked > MAX_UNPACKED_BYTES:
        result.problems.append(Problem(0, "", _("The workbook is too large once unpacked; split it.")))
        return []
    upload.seek(0)
    try:
        book = load_workbook(upload, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError):
        result.problems.append(not_xlsx)
        return []
    try:
        sheet = book[SHEET] if SHEET in book.sheetnames else book.worksheets[0]
        lines = sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True)
        header = next(lines, ())
        position = {}
        for index, value in enumerate(header):
            column = BY_HEADER.get(_text(value))
            if column is None:
                continue  # other columns are the reader's own notes
            if column.key in position:
                result.problems.append(Problem(1, column.header, _("This column appears twice.")))
            position[column.key] = index
        for column in COLUMNS:
            if column.key not in position:
                result.problems.append(Problem(1, column.header, _("This column is missing from the header row.")))
        if not result.ok:
            return []
        rows = []
        for number, line in enumerate(lines, start=2):
            if number > MAX_LINES:
                result.problems.append(Problem(number, "", _("The sheet has too many rows; split it.")))
                return []
            cells = {key: line[index] if index < len(line) else None for key, index in position.items()}
            if all(_text(value) == "" for value in cells.values()):
                continue
            if len(rows) == MAX_ROWS:
                result.problems.append(
                    Problem(number, "", _("A file holds at most %(max)d experts; split it.") % {"max": MAX_ROWS})
                )
                return []
            rows.append(_Row(number, cells))
        return rows
    finally:
        book.close()


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


# --- checking -----------------------------------------------------------------------------
def _validate(rows: list[_Row], result: ImportResult) -> list[tuple]:
    """Each row on its own, then against the database and the other rows.
    Returns (row, data, existing expert or None) for the good rows."""
    codes = set()
    for row in rows:
        _check_cells(row)
        codes.add(row.values.get("employer", ""))
        codes.update(row.values.get("avoid_units", ()))
    organizations = {o.credit_code: o for o in Organization.objects.filter(credit_code__in=codes - {""})}
    usernames = [row.values["username"] for row in rows if row.values.get("username")]
    id_numbers = [row.values["id_number"] for row in rows if row.values.get("id_number")]
    pool = (
        Expert.objects.filter(Q(user__username__in=usernames) | Q(id_number__in=id_numbers))
        .select_related("user")
        .prefetch_related(
            Prefetch("employments", queryset=Employment.objects.select_related("organization")),
            "avoid_units",
            "avoid_people",
        )
    )
    by_username, by_id = {}, {}
    for expert in pool:
        by_username[expert.user.username] = expert
        by_id[expert.id_number] = expert

    first_username, first_id, checked = {}, {}, []
    for row in rows:
        values = row.values
        username, id_number = values.get("username"), values.get("id_number")
        if username:
            if username in first_username:
                row.fail(
                    "username",
                    _("The login name %(value)s is also in row %(row)d.")
                    % {"value": username, "row": first_username[username]},
                )
            first_username.setdefault(username, row.number)
        if id_number:
            if id_number in first_id:
                row.fail("id_number", _("This ID number is also in row %(row)d.") % {"row": first_id[id_number]})
            first_id.setdefault(id_number, row.number)
            holder = by_id.get(id_number)
            if holder is not None and holder.user.username != username:
                row.fail(
                    "id_number",
                    _("This ID number belongs to the expert %(name)s (login name %(username)s).")
                    % {"name": holder.name, "username": holder.user.username},
                )
        employer = values.get("employer")
        if employer and employer not in organizations:
            try:
                validate_credit_code(employer)
            except ValidationError as exc:
                row.fail("employer", " ".join(exc.messages))
            else:
                row.fail("employer", _("No unit with this credit code is registered; register the unit first."))
        for code in values.get("avoid_units", ()):
            if code not in organizations:
                try:
                    validate_credit_code(code)
                except ValidationError as exc:
                    row.fail("avoid_units", f"{code}: {' '.join(exc.messages)}")
        result.problems.extend(row.problems)
        if not row.problems:
            data = services.ExpertData(
                employer=organizations[employer], **{k: v for k, v in values.items() if k != "employer"}
            )
            checked.append((row, data, by_username.get(username)))
    return checked


def _check_cells(row: _Row) -> None:
    """Each cell on its own: required, format, allowed values. Fills row.values."""
    for column in COLUMNS:
        if column.required and row.text(column.key) == "":
            row.fail(column.key, _("This column is required."))
    values = row.values
    username = row.text("username")
    if username == EXAMPLE_USERNAME:
        row.fail("username", _("This is the template's example row; delete it."))
    elif username:
        try:
            User.username_validator(username)
            if len(username) > 150:
                raise ValidationError(_("A login name has at most 150 characters."))
        except ValidationError as exc:
            row.fail("username", " ".join(exc.messages))
        else:
            values["username"] = username
    for key, limit in (("name", 50), ("title", 50), ("phone", 30)):
        text = row.text(key)
        if len(text) > limit:
            row.fail(key, _("At most %(limit)d characters.") % {"limit": limit})
        else:
            values[key] = text
    if isinstance(row.cells.get("id_number"), float):
        row.fail("id_number", _("The ID number was stored as a number and lost digits; format the column as text."))
    elif id_number := row.text("id_number").replace("x", "X"):
        try:
            validate_id_number(id_number)
        except ValidationError as exc:
            row.fail("id_number", " ".join(exc.messages))
        else:
            values["id_number"] = id_number
    if employer := row.text("employer"):
        values["employer"] = employer
    if kind := row.text("expert_type"):
        if kind in TYPE_LABELS:
            values["expert_type"] = TYPE_LABELS[kind]
        else:
            row.fail("expert_type", _("Unknown expert type “%(value)s”; use 技术, 管理 or 财务.") % {"value": kind})
    fields = []
    for item in _items(row.text("fields")):
        code = FIELD_BY_LABEL.get(item, item if item in FIELD_LABELS else None)
        if code is None:
            row.fail("fields", _("Unknown technical field “%(value)s”.") % {"value": item})
        elif code not in fields:
            fields.append(code)
    values["fields"] = tuple(fields)
    if email := row.text("email"):
        try:
            EmailValidator()(email)
        except ValidationError:
            row.fail("email", _("“%(value)s” is not an e-mail address.") % {"value": email})
        else:
            values["email"] = email
    active = row.text("active") or YES
    if active not in (YES, NO):
        row.fail("active", _("Write 是 or 否, not “%(value)s”.") % {"value": active})
    values["active"] = active == YES
    values["yearly_cap"] = _cap(row)
    values["avoid_units"] = tuple(dict.fromkeys(_items(row.text("avoid_units"))))
    values["avoid_people"] = _people(row)


def _items(text: str) -> list[str]:
    return [item.strip() for item in SPLIT_LIST.split(text) if item.strip()]


def _cap(row: _Row) -> int:
    raw = row.cells.get("yearly_cap")
    text = row.text("yearly_cap")
    if text == "":
        return 10
    if isinstance(raw, bool) or not (isinstance(raw, int | float) or text.isdigit()):
        row.fail("yearly_cap", _("“%(value)s” is not a whole number.") % {"value": text})
        return 10
    if isinstance(raw, float) and not raw.is_integer():
        row.fail("yearly_cap", _("“%(value)s” is not a whole number.") % {"value": text})
        return 10
    cap = int(float(text))
    if not 1 <= cap <= MAX_CAP:
        row.fail("yearly_cap", _("The yearly cap must be between 1 and %(max)d.") % {"max": MAX_CAP})
    return cap


def _people(row: _Row) -> tuple[tuple[str, str], ...]:
    people = []
    for item in _items(row.text("avoid_people")):
        parts = [part.strip() for part in SPLIT_PERSON.split(item)]
        if len(parts) > 2 or not parts[0]:
            row.fail("avoid_people", _("“%(value)s”: write a name, or name:ID number.") % {"value": item})
            continue
        name, id_number = parts[0], (parts[1].replace("x", "X") if len(parts) == 2 else "")
        if len(name) > 50:
            row.fail("avoid_people", _("“%(value)s”: a name has at most 50 characters.") % {"value": name})
            continue
        if id_number:
            try:
                validate_id_number(id_number)
            except ValidationError as exc:
                row.fail("avoid_people", f"{name}: {' '.join(exc.messages)}")
                continue
        if (name, id_number) not in people:
            people.append((name, id_number))
    return tuple(people)


# --- writing ------------------------------------------------------------------------------
def _write(checked, result: ImportResult, *, actor, on) -> None:
    changed = []
    for row, data, expert in checked:
        if expert is not None and services.is_up_to_date(expert, data):
            result.unchanged += 1
            continue
        try:
            expert, outcome = services.upsert_expert(actor=actor, data=data, on=on, refresh=False)
        except ValidationError as exc:
            for name, messages in getattr(exc, "message_dict", {"": exc.messages}).items():
                column = BY_KEY.get(name)
                result.problems.append(Problem(row.number, column.header if column else "", " ".join(messages)))
            raise _Rollback from exc
        except IntegrityError as exc:  # a concurrent change between the checks and the writes
            result.problems.append(Problem(row.number, "", _("Changed by someone else meanwhile; import again.")))
            raise _Rollback from exc
        if outcome == services.CREATED:
            result.created += 1
        elif outcome == services.UPDATED:
            result.updated += 1
        else:
            result.unchanged += 1
        if outcome != services.UNCHANGED:
            changed.append(expert.pk)
    services.refresh_conflicts_on_commit(changed)
