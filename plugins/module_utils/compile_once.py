# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compile this collection's module_utils once per module run, not twice.

Ansible runs a module from a zip (AnsiballZ), and Python's zipimport compiles every source
module it imports from a zip twice: the import system asks the importer for the module's
file name while it builds the module spec, zipimporter.get_filename() compiles the module
to learn it, and exec_module() then compiles it again (CPython gh-141276, open in 3.13).
Compiling this collection's code is most of what a module run spends above a bare
AnsibleModule, so each module imports this first: it puts in a zipimporter whose
get_filename() names this collection's modules without compiling them. Ansible ships them
as source only (no .pyc), so the name is the .py member's. Every other module, and every
import outside a zip (tests, ansible-test sanity), is left to zipimport and the import
system as they are.
"""

from __future__ import annotations

import os
import sys
import zipimport

# These packages and their modules get the name-only get_filename (a test points it at its own package).
PACKAGES = ("ansible_collections.swarmops.core",)


class NamingZipImporter(zipimport.zipimporter):
    """zipimporter whose get_filename() does not compile this collection's modules."""

    def get_filename(self, fullname):
        if not any(fullname == name or fullname.startswith(name + ".") for name in PACKAGES):
            return super().get_filename(fullname)
        member = self.prefix + fullname.rpartition(".")[2]
        member += os.sep + "__init__.py" if self.is_package(fullname) else ".py"  # raises ZipImportError if absent
        return self.archive + os.sep + member


def install():
    """Make zip imports, from now on, use NamingZipImporter; idempotent."""
    hooks = sys.path_hooks
    if zipimport.zipimporter in hooks:
        hooks[hooks.index(zipimport.zipimporter)] = NamingZipImporter
    for path, finder in list(sys.path_importer_cache.items()):
        if type(finder) is zipimport.zipimporter:  # pylint: disable=unidiomatic-typecheck  (not the subclass)
            sys.path_importer_cache[path] = NamingZipImporter(path)


install()
