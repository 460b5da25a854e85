"""Packaging metadata says what is true: requires_ansible, the action group, galaxy.yml, make help."""

from __future__ import annotations

import re

import yaml

from conftest import ROOT

RUNTIME = yaml.safe_load((ROOT / "meta/runtime.yml").read_text())
MAKEFILE = (ROOT / "Makefile").read_text()


def test_requires_ansible_is_the_tested_ansible_core():
    pinned = re.search(r"^ansible-core>=([0-9.]+),", (ROOT / "requirements.txt").read_text(), re.M)[1]
    assert RUNTIME["requires_ansible"] == ">=%s.0" % pinned


def test_docker_action_group_is_every_module_with_the_connection_options():
    with_fragment = sorted(
        path.stem for path in (ROOT / "plugins/modules").glob("*.py")
        if "- swarmops.core.docker\n" in path.read_text())
    assert "stack_info" in with_fragment and "stack_task_info" in with_fragment
    assert sorted(RUNTIME["action_groups"]["docker"]) == with_fragment


def test_galaxy_yml_has_no_placeholder_address():
    galaxy = yaml.safe_load((ROOT / "galaxy.yml").read_text())
    for key in ("repository", "homepage", "documentation", "issues"):
        assert "example" not in str(galaxy.get(key) or ""), key


def test_every_phony_target_has_a_rule_and_a_help_line():
    phony = re.search(r"^\.PHONY:(.*)$", MAKEFILE, re.M)[1].split()
    rules = set(re.findall(r"^([a-z][a-z0-9-]*):", MAKEFILE, re.M))
    help_text = " ".join(re.findall(r'@echo "(.*)"', MAKEFILE.split("\nhelp:", 1)[1].split("\n\n", 1)[0]))
    assert [t for t in phony if t not in rules] == []
    assert [t for t in phony if t != "help" and "make %s " % t not in help_text + " "
            and "make %s," % t not in help_text] == []


def test_changelog_fragments_do_not_announce_new_plugins():
    """antsibull-changelog lists new modules and plugins itself; a fragment saying so lists them twice."""
    plugins = {p.stem for p in (ROOT / "plugins").glob("*/*.py")}
    twice = []
    for fragment in sorted((ROOT / "changelogs/fragments").glob("*.yml")):
        for section in (yaml.safe_load(fragment.read_text()) or {}).values():
            for entry in section if isinstance(section, list) else []:
                match = re.match(r"(\S+) - new (module|inventory plugin|plugin|.* plugin)\b", entry)
                if match and match[1] in plugins:
                    twice.append("%s: %s" % (fragment.name, match[1]))
    assert twice == []
