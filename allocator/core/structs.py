"""The state a kernel takes (a zone, a policy's or a mix's state): one numba StructRef each.

A namedtuple of arrays is passed to a compiled function as every field's array struct (seven
to nine machine words an array), so a call LLVM did not inline copied some two hundred words,
and how much LLVM inlined swung with the number of fields (two more fields in `Zone` made the
engine 3.3x slower). A StructRef is one pointer: a call costs what a call costs, whatever the
state holds. `state_struct()` makes the type; with `NUMBA_DISABLE_JIT=1` the same constructor
returns a namedtuple, which interpreted kernels read the same way.

The kernels run without numba's reference counting (jit.njit, `_nrt=False`), and numba's own
StructRef attributes need it to find a struct's payload, so attribute reads are lowered here:
the payload pointer is one load from the MemInfo (what numba's `NRT_MemInfo_data_fast` does),
marked invariant (a payload never moves), then the field. Fields are set once, by the
constructor (compiled with the NRT); compiled code never reassigns them.
"""

from __future__ import annotations

import sys
from collections import namedtuple
from collections.abc import Callable, Sequence
from typing import Any

from numba.core import cgutils, imputils, types
from numba.core.datamodel import default_manager, models
from numba.core.extending import (
    infer_getattr,
    lower_getattr_generic,
    lower_setattr_generic,
    overload,
)
from numba.core.runtime.nrtdynmod import _meminfo_struct_type
from numba.core.typing.templates import AttributeTemplate
from numba.experimental import structref

from allocator.core.jit import JIT_ENABLED


class StateType(types.StructRef):
    """Base of every state's numba type: fields typed as given (no literal ints)."""

    def preprocess_fields(self, fields):
        return tuple((name, types.unliteral(t)) for name, t in fields)


class StateRef(structref.StructRefProxy):
    """A state as Python sees it with the JIT on: its fields are the objects it was built from
    (the struct holds the same arrays; scalars are read-only)."""

    _fields: tuple[str, ...] = ()  # as a namedtuple's: the field names, in order

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["_values"][name]
        except KeyError:
            raise AttributeError(name) from None

    def __iter__(self):
        return (self._values[f] for f in self._fields)


def _payload(context, builder, typ, val):
    ref = cgutils.create_struct_proxy(typ)(context, builder, value=val)
    mi = builder.bitcast(ref.meminfo, _meminfo_struct_type.as_pointer())
    data = builder.load(cgutils.gep(builder, mi, 0, 3))
    data.set_metadata("invariant.load", builder.module.add_metadata([]))
    valtype = typ.get_data_type()
    alloc_type = context.data_model_manager[valtype].get_value_type()
    data = builder.bitcast(data, alloc_type.as_pointer())
    return cgutils.create_struct_proxy(valtype)(context, builder, ref=data)


def _register(struct_type: type) -> None:
    default_manager.register(struct_type, models.StructRefModel)

    @infer_getattr
    class _Attr(AttributeTemplate):
        key = struct_type

        def generic_resolve(self, typ, attr):
            return typ.field_dict.get(attr)

    @lower_getattr_generic(struct_type)
    def _getattr(context, builder, typ, val, attr):
        ret = getattr(_payload(context, builder, typ, val), attr)
        return imputils.impl_ret_borrowed(context, builder, typ.field_dict[attr], ret)

    @lower_setattr_generic(struct_type)
    def _setattr(context, builder, sig, args, attr):
        typ, valty = sig.args
        instance, val = args
        fields = _payload(context, builder, typ, instance)
        casted = context.cast(builder, val, valty, typ.field_dict[attr])
        context.nrt.incref(builder, valty, casted)
        setattr(fields, attr, casted)


def _define_constructor(ref: type, typ: type, fields: Sequence[str]) -> None:
    """`ref(*values)` in jit code (numba's define_constructor, whose generated code names its
    struct `st`, which a field of that name overwrites)."""
    params = ", ".join(f"f_{f}" for f in fields)
    sets = "\n".join(f"        self_.{f} = f_{f}" for f in fields)
    source = (
        f"def ctor({params}):\n"
        f"    struct_type = typ(list(zip({list(fields)!r}, [{params}])))\n"
        f"    def impl({params}):\n"
        f"        self_ = new(struct_type)\n{sets}\n"
        f"        return self_\n"
        f"    return impl\n"
    )
    glbs = {"typ": typ, "new": structref.new}
    exec(source, glbs)  # noqa: S102 - generated from the field names only
    overload(ref)(glbs["ctor"])


def state_struct(name: str, fields: Sequence[str], module: str) -> Callable[..., Any]:
    """The constructor of state `name` (keyword arguments, one per field, in any order).

    Defines `<name>Type` and `<name>Ref` in `module` (numba's cache pickles a type by its
    import path, so both must be found there by name) and returns a function building a
    `<name>Ref` (JIT on) or a namedtuple `name` (JIT off), `<constructor>.tuple_type`."""
    mod = sys.modules[module]
    typ = type(f"{name}Type", (StateType,), {"__module__": module})
    ref = type(f"{name}Ref", (StateRef,), {"__module__": module, "_fields": tuple(fields)})
    setattr(mod, typ.__name__, typ)
    setattr(mod, ref.__name__, ref)
    _register(typ)
    _define_constructor(ref, typ, fields)
    structref.define_boxing(typ, ref)
    tup = namedtuple(name, fields)  # noqa: PYI024 - the interpreted kernels' state
    tup.__module__ = module

    def make(**values: Any) -> Any:
        if not JIT_ENABLED:
            return tup(**values)
        obj = ref(*(values[f] for f in fields))
        obj._values = values
        return obj

    make.__name__ = make.__qualname__ = name
    make.__module__ = module
    make.tuple_type = tup  # type: ignore[attr-defined]
    return make
