"""A student's starting point: every protocol function is a stub (templates/student.py)."""

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "student_template", Path(__file__).resolve().parents[2] / "templates" / "student.py"
)
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)
globals().update({name: getattr(_module, name) for name in dir(_module) if not name.startswith("_")})
