"""Lazy expressions, under the names redun users import from ``redun.expression``.

``TaskExpression`` is a task call, ``SchedulerExpression`` a control-flow form the
scheduler evaluates itself (cond, seq, catch, apply_tags), ``SimpleExpression`` an
operator, index, attribute or call on lazy values."""

from bridge.native.expression import (
    CallValue,
    Expression,
    GetAttr,
    GetItem,
    Operation,
    QuotedExpression,
    SimpleExpression,
    SpecialForm,
    TaskCall,
    ValueExpression,
    quote,
)

TaskExpression = TaskCall
SchedulerExpression = SpecialForm

__all__ = [
    "CallValue", "Expression", "GetAttr", "GetItem", "Operation", "QuotedExpression",
    "SchedulerExpression", "SimpleExpression", "SpecialForm", "TaskCall", "TaskExpression",
    "ValueExpression", "quote",
]
