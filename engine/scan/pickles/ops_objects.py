"""Opcode handlers for structure and behaviour: MARK, containers, imports, calls, BUILD.

Imports and calls are handed to the analysis and ``calls``, which judge them; containers
keep their content only where later checks need it (dicts, lists, sets built by the pickle).
"""

from __future__ import annotations

from modelward.engine.scan.pickles.calls import call
from modelward.engine.scan.pickles.joblib import follow_wrapper
from modelward.engine.scan.pickles.state import U64, Broken, Handler, Machine, Stop
from modelward.engine.scan.pickles.values import BUFFER, PERSISTENT, Call, Global, SymDict, SymSet


def object_handlers(m: Machine) -> dict[str, Handler]:
    """Handlers for everything but constants, closed over ``m`` (kept local for speed)."""
    analysis, buf, marks, stack = m.analysis, m.buf, m.marks, m.stack
    push, pop, pop_mark, line, span = stack.append, stack.pop, m.pop_mark, m.line, m.span
    resolve = analysis.resolve_global

    def mark(p: int) -> int:
        marks.append(len(stack))
        return p

    def stop(p: int) -> int:
        raise Stop(p)

    def pop_op(p: int) -> int:
        if marks and len(stack) <= marks[-1]:
            marks.pop()
        else:
            pop()
        return p

    def pop_mark_op(p: int) -> int:
        pop_mark()
        return p

    def dup(p: int) -> int:
        push(stack[-1])
        return p

    def persid(p: int) -> int:
        raw, p = line(p)
        raw.decode("ascii")
        push(PERSISTENT)
        return p

    def binpersid(p: int) -> int:
        pop()
        push(PERSISTENT)
        return p

    def reduce(p: int) -> int:
        args = pop()
        func = pop()
        push(call(analysis, func, args, p - 1, "REDUCE"))
        return p

    def append(p: int) -> int:
        value = pop()
        target = stack[-1]
        if type(target) is list:
            target.append(value)
        elif type(target) is Global:
            analysis.mutate(target, p - 1, "APPEND")
        return p

    def appends(p: int) -> int:
        items = pop_mark()
        target = stack[-1]
        if type(target) is list:
            target.extend(items)
        elif type(target) is Global:
            analysis.mutate(target, p - 1, "APPENDS")
        return p

    def build(p: int) -> int:
        state = pop()
        target = stack[-1]
        analysis.build(target, state, p - 1)
        if type(target) is Call:
            return follow_wrapper(m, target, state, p)
        return p

    def global_text(p: int) -> int:
        module, p2 = line(p)
        name, end = line(p2)
        push(resolve(module.decode("utf-8"), name.decode("utf-8"), p - 1, "GLOBAL"))
        return end

    def dict_op(p: int) -> int:
        items = iter(pop_mark())
        push(SymDict(list(zip(items, items, strict=False))))
        return p

    def empty_dict(p: int) -> int:
        push(SymDict())
        return p

    def inst(p: int) -> int:
        module, p2 = line(p)
        name, end = line(p2)
        args = tuple(pop_mark())
        cls = resolve(module.decode("utf-8"), name.decode("utf-8"), p - 1, "INST")
        push(call(analysis, cls, args, p - 1, "INST"))
        return end

    def list_op(p: int) -> int:
        push(pop_mark())
        return p

    def empty_list(p: int) -> int:
        push([])
        return p

    def obj(p: int) -> int:
        items = pop_mark()
        if not items:
            raise Broken("OBJ without a class")
        push(call(analysis, items[0], tuple(items[1:]), p - 1, "OBJ"))
        return p

    def setitem(p: int) -> int:
        value = pop()
        key = pop()
        target = stack[-1]
        if type(target) is SymDict:
            target.pairs.append((key, value))
        elif type(target) is Global:
            analysis.mutate(target, p - 1, "SETITEM")
        return p

    def tuple_op(p: int) -> int:
        push(tuple(pop_mark()))
        return p

    def empty_tuple(p: int) -> int:
        push(())
        return p

    def setitems(p: int) -> int:
        items = pop_mark()
        target = stack[-1]
        if type(target) is SymDict:
            it = iter(items)
            target.pairs.extend(zip(it, it, strict=False))
        elif type(target) is Global:
            analysis.mutate(target, p - 1, "SETITEMS")
        return p

    def proto(p: int) -> int:
        if buf[p] > 5:
            raise Broken(f"unsupported protocol {buf[p]}")
        return p + 1

    def newobj(p: int) -> int:
        args = pop()
        cls = pop()
        push(call(analysis, cls, args, p - 1, "NEWOBJ"))
        return p

    def ext(size: int) -> Handler:
        def handler(p: int) -> int:
            code = int.from_bytes(buf[p : span(p, size)], "little")
            if code <= 0:
                raise Broken("extension code must be positive")
            push(analysis.extension(code, p - 1))
            return p + size

        return handler

    def tuple1(p: int) -> int:
        stack[-1] = (stack[-1],)
        return p

    def tuple2(p: int) -> int:
        stack[-2:] = [(stack[-2], stack[-1])]
        return p

    def tuple3(p: int) -> int:
        stack[-3:] = [(stack[-3], stack[-2], stack[-1])]
        return p

    def empty_set(p: int) -> int:
        push(SymSet())
        return p

    def additems(p: int) -> int:
        items = pop_mark()
        target = stack[-1]
        if type(target) is SymSet:
            target.items.extend(items)
        elif type(target) is Global:
            analysis.mutate(target, p - 1, "ADDITEMS")
        return p

    def frozenset_op(p: int) -> int:
        push(SymSet(pop_mark()))
        return p

    def newobj_ex(p: int) -> int:
        pop()
        args = pop()
        cls = pop()
        push(call(analysis, cls, args, p - 1, "NEWOBJ_EX"))
        return p

    def stack_global(p: int) -> int:
        name = pop()
        module = pop()
        if type(module) is str and type(name) is str:
            push(resolve(module, name, p - 1, "STACK_GLOBAL"))
        else:
            push(analysis.computed_global(module, name, p - 1))
        return p

    def frame(p: int) -> int:
        U64(buf, p)
        return p + 8

    def next_buffer(p: int) -> int:
        push(BUFFER)
        return p

    def readonly_buffer(p: int) -> int:
        if not stack:
            raise Broken("READONLY_BUFFER on an empty stack")
        return p

    return {
        "(": mark, ".": stop, "0": pop_op, "1": pop_mark_op, "2": dup, "P": persid,
        "Q": binpersid, "R": reduce, "a": append, "b": build, "c": global_text, "d": dict_op,
        "}": empty_dict, "e": appends, "i": inst, "l": list_op, "]": empty_list, "o": obj,
        "s": setitem, "t": tuple_op, ")": empty_tuple, "u": setitems, "\x80": proto,
        "\x81": newobj, "\x82": ext(1), "\x83": ext(2), "\x84": ext(4), "\x85": tuple1,
        "\x86": tuple2, "\x87": tuple3, "\x8f": empty_set, "\x90": additems,
        "\x91": frozenset_op, "\x92": newobj_ex, "\x93": stack_global, "\x95": frame,
        "\x97": next_buffer, "\x98": readonly_buffer,
    }  # fmt: skip
