"""Turning submitted forms into commands, and refusals into an NHS error summary.

Every refusal names the field it is about (its form input's id) and says in plain words what to
change; nothing is recorded when a form is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from application.errors import ApplicationError
from domain.errors import DomainError

M = TypeVar("M", bound=BaseModel)

_PLAIN = {
    "missing": "Enter {label}",
    "string_too_short": "Enter {label}",
    "list_too_short": "Enter {label}",
    "string_too_long": "{Label} is too long",
    "float_parsing": "{Label} must be a number",
    "float_type": "{Label} must be a number",
    "finite_number": "{Label} must be a number",
    "int_parsing": "{Label} must be a whole number",
    "date_from_datetime_parsing": "{Label} must be a real date, like 2025-03-31",
    "date_parsing": "{Label} must be a real date, like 2025-03-31",
    "uuid_parsing": "Choose {label}",
    "enum": "Choose {label}",
}


@dataclass
class FormErrors:
    """Refusals by field, in the order the form shows them."""

    by_field: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, message: str) -> None:
        """Keep the first refusal of each field."""
        self.by_field.setdefault(name, message)

    def __bool__(self) -> bool:
        return bool(self.by_field)


def _label(name: str, labels: Mapping[str, str]) -> str:
    return labels.get(name, name.replace("_", " "))


def from_validation(
    error: ValidationError, labels: Mapping[str, str], whole_form_field: str
) -> FormErrors:
    """A pydantic refusal in the words of the form's labels.

    A rule about the whole command (a model validator) is shown on ``whole_form_field``.
    """
    errors = FormErrors()
    for problem in error.errors():
        name = str(problem["loc"][0]) if problem["loc"] else whole_form_field
        label = _label(name, labels)
        template = _PLAIN.get(problem["type"])
        if problem["type"] == "missing" and name.endswith("_id"):
            template = "Choose {label}"
        if template:
            message = template.format(label=label.lower(), Label=label)
        elif problem["loc"]:
            message = f"{label}: {problem['msg'].removeprefix('Value error, ')}"
        else:
            message = problem["msg"].removeprefix("Value error, ")
        errors.add(name, message)
    return errors


def parse(
    model: type[M], data: Mapping[str, Any], labels: Mapping[str, str], whole_form_field: str
) -> M | FormErrors:
    """The command, or what is wrong with the form (blank fields count as not given)."""
    cleaned = {k: v for k, v in data.items() if v not in ("", None, [])}
    try:
        return model.model_validate(cleaned)
    except ValidationError as e:
        return from_validation(e, labels, whole_form_field)


def attempt(action: Callable[[], Any], fallback_field: str = "form") -> FormErrors | None:
    """Run a command; a rule refusal becomes a form error on the field it names."""
    try:
        action()
    except (DomainError, ApplicationError) as e:
        errors = FormErrors()
        errors.add(getattr(e, "field", None) or fallback_field, str(e))
        return errors
    return None
