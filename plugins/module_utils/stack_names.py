# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What makes an Engine object part of a stack, as the docker CLI decides it.

An object belongs to stack ``s`` when it carries the label ``com.docker.stack.namespace=s``;
its name is ``s_<name>`` unless the compose file names it explicitly. Services also carry
``com.docker.stack.image`` (the image as written, before digest resolution). These are the
CLI's own names (docker/cli cli/compose/convert), so ``docker stack ls/ps/services/rm`` and
stack_deploy see the same stacks. A shared leaf: pure, imports nothing from the collection;
the pipeline (convert, plan, apply) and the read-only stack_query stand on it.
"""

from __future__ import annotations

NAMESPACE_LABEL = "com.docker.stack.namespace"
IMAGE_LABEL = "com.docker.stack.image"


def scope(stack, name):
    """The Engine name of a stack's object: ``<stack>_<name>``."""
    return "%s_%s" % (stack, name)


def stack_filter(stack):
    """The Engine API ``label`` filter value selecting one stack's objects."""
    return "%s=%s" % (NAMESPACE_LABEL, stack)


def stack_of(labels):
    """The stack an object's labels put it in, or None."""
    return (labels or {}).get(NAMESPACE_LABEL)
