"""The bulk path: every lead's scores, level and fit gate at once, with NumPy over columns.

:mod:`leadrelay.bulk.engine` computes what :func:`leadrelay.domain.evaluation.assess` computes,
for many leads in one pass, from columns of activities instead of one lead's objects. It is an
adapter beside the domain core, not part of it: the per-lead engine stays the definition, and a
property test holds the two equal.
"""
