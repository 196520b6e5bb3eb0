"""spec_tests/protocol.py (the typed protocol), templates/student.py (the stubs) and the boundary
spec_tests/iut.py list the same functions with the same parameters, in the same order."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from spec_tests import protocol

ROOT = Path(__file__).resolve().parent.parent


def student_functions() -> dict[str, tuple[str, ...]]:
    tree = ast.parse((ROOT / "templates" / "student.py").read_text())
    return {f.name: tuple(a.arg for a in f.args.args) for f in tree.body
            if isinstance(f, ast.FunctionDef) and not f.name.startswith("_")}


def boundary_functions() -> dict[str, tuple[str, ...] | None]:
    """{function: the keyword names the boundary passes (it calls positionally, in this order)}; None for
    the initialisers, which the boundary reaches through Implementation.initialise(scheme, …)."""
    calls = {}
    for node in ast.walk(ast.parse((ROOT / "spec_tests" / "iut.py").read_text())):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "_call"
                and node.args and isinstance(node.args[0], ast.Constant)):
            calls[node.args[0].value] = tuple(k.arg for k in node.keywords if k.arg != "expect_refusal")
    return calls | {name: None for name in protocol.INITIALISERS}


def test_the_typed_protocol_the_student_template_and_the_boundary_list_the_same_functions():
    typed, student, boundary = protocol.protocol_functions(), student_functions(), boundary_functions()
    assert sorted(typed) == sorted(student), (
        f"only in spec_tests/protocol.py: {sorted(set(typed) - set(student))}; "
        f"only in templates/student.py: {sorted(set(student) - set(typed))}")
    assert sorted(typed) == sorted(boundary), (
        f"only in spec_tests/protocol.py: {sorted(set(typed) - set(boundary))}; "
        f"only in spec_tests/iut.py: {sorted(set(boundary) - set(typed))}")


def test_every_function_has_the_same_parameter_names_in_the_same_order_everywhere():
    typed, student, boundary = protocol.protocol_functions(), student_functions(), boundary_functions()
    for name, parameters in typed.items():
        assert student.get(name) == parameters, f"{name}: protocol.py {parameters}, student.py {student.get(name)}"
        if boundary.get(name) is not None:
            assert boundary[name] == parameters, f"{name}: protocol.py {parameters}, iut.py {boundary[name]}"


def test_structured_results_name_the_fields_the_boundary_reads():
    from spec_tests import iut

    for name in ("MLPForward", "MLPGradients", "RNNGradients", "LSTMForward", "LSTMGradients", "GRUGradients",
                 "StepJacobians", "ResidualGradients", "TransformerStackForward", "TransformerLayerGradients",
                 "TransformerStackGradients", "TransformerBlockJacobians"):
        assert getattr(protocol, name)._fields == getattr(iut, name)._fields, name


def test_the_reference_satisfies_the_typed_protocol_by_name_and_parameters():
    import reference

    for name, parameters in protocol.protocol_functions().items():
        assert tuple(inspect.signature(getattr(reference, name)).parameters) == parameters, name
