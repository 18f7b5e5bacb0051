"""The type stubs of the compiled core name exactly what the module binds.

python/densekit/_core.pyi documents densekit._core (generated with pybind11-stubgen, then checked
by hand). This compares the loaded module with the stub's
syntax tree and fails on any name found in one but not the other: module-level names and
__all__, each class's own members, and every enum's members with their values (aliases
included), so that a binding added, renamed or removed in C++ cannot leave the stubs behind.
"""

import ast
import enum
from pathlib import Path

import pytest

import densekit as dk
from densekit import _native

PACKAGE = Path(dk.__file__).parent
core = _native.core


def stub_module():
    return ast.parse((PACKAGE / "_core.pyi").read_text())


def defined_names(body):
    """Names a stub body defines: classes, functions, assigned and annotated names."""
    names = set()
    for node in body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return {n for n in names if not n.startswith("_")}


def stub_classes():
    return {node.name: node for node in stub_module().body if isinstance(node, ast.ClassDef)}


def test_module_names_match_the_stub():
    tree = stub_module()
    runtime = {n for n in dir(core) if not n.startswith("_")}
    stub = defined_names(tree.body)
    assert runtime - stub == set(), "bound but missing from _core.pyi"
    assert stub - runtime == set(), "in _core.pyi but not bound"
    declared_all = next(ast.literal_eval(n.value) for n in tree.body
                        if isinstance(n, ast.AnnAssign) and getattr(n.target, "id", "") == "__all__")
    assert sorted(declared_all) == sorted(runtime)


@pytest.mark.parametrize("name", sorted(stub_classes()))
def test_class_members_match_the_stub(name):
    cls, node = getattr(core, name), stub_classes()[name]
    stub = defined_names(node.body)
    if issubclass(cls, enum.Enum):
        values = {n.targets[0].id: ast.literal_eval(n.value) for n in node.body if isinstance(n, ast.Assign)}
        assert values == {k: int(v) for k, v in cls.__members__.items()}
        return
    runtime = {n for n in vars(cls) if not n.startswith("_")}
    assert runtime - stub == set(), f"{name}: bound but missing from the stub"
    assert stub - runtime == set(), f"{name}: in the stub but not bound"
    bases = [b.id for b in node.bases if isinstance(b, ast.Name)]
    assert bases == [b.__name__ for b in cls.__bases__ if b.__name__ != "pybind11_object"]


def test_enums_refuse_codes_outside_their_table():
    """The bindings take the enum types: a plain int, or a value the table lacks, never reaches C++."""
    with pytest.raises(ValueError):
        core.ActivationKind(len(core.ActivationKind))
    layer = core.DenseLayer32(3, 2, True, core.ActivationKind.relu, 0.0, 0.125, 1 / 3)
    with pytest.raises(TypeError):
        core.DenseLayer32(3, 2, True, 1, 0.0, 0.125, 1 / 3)
    with pytest.raises(TypeError):
        layer.set_constraint("kernel", 99, 1.0, 0)
