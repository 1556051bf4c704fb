"""Hostile command-line argument values: non-UTF-8, control characters, huge."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.fuzz.conftest import run_cli
from tests.fuzz.strategies import any_text, control_text, huge_text

#: Arguments as Python hands over bytes that are not UTF-8 (lone surrogates).
undecodable = st.builds(lambda a, b, c: a + b + c, st.text("abc", max_size=5),
                        st.sampled_from(["\udcff", "\udce9", "\udc80\udc80", "\udcc3"]),
                        st.text("abc", max_size=5))
# (none starts with '-': argparse would read an option there, not a value)
hostile = st.one_of(undecodable, control_text, huge_text.map(lambda t: t[:200_000]),
                    any_text.filter(lambda t: t.strip())).filter(
                        lambda t: not t.startswith("-"))

#: Commands taking one value that names something; {} is the hostile value.
LOOKUPS = [
    ["vim", "show", "--", "{}"], ["vim", "delete", "--", "{}"],
    ["vim", "check", "--", "{}"],
    ["vnf", "package", "show", "--", "{}"], ["vnf", "package", "delete", "--", "{}"],
    ["vnflcm", "show", "--", "{}"], ["vnflcm", "delete", "--", "{}"],
    ["vnflcm", "op", "show", "--", "{}"],
    ["vnflcm", "instantiate", "--", "{}", "/dev/null"],
    ["vnflcm", "create", "--", "{}"],
    ["vnf", "package", "upload", "--path", "{}", "--", "{}"],
    ["vnflcm", "scale", "--type", "SCALE_OUT", "--aspect-id", "{}", "--", "{vnf}"],
    ["vnflcm", "heal", "--cause", "x", "--vnfc-instance", "{}", "--", "{vnf}"],
    ["vim", "register", "--config-file", "{}", "--", "fuzz"],
    ["vnflcm", "instantiate", "--", "{vnf}", "{}"],
]


@settings(max_examples=settings.default.max_examples)
@given(value=hostile, argv=st.sampled_from(LOOKUPS))
@example(value="caf\udce9", argv=["vim", "show", "--", "{}"])
@example(value="x\udcff", argv=["vim", "register", "--config-file", "{}", "--", "fuzz"])
@example(value="x" * 2 * 1024 * 1024, argv=["vim", "show", "--", "{}"])
@example(value="a\nb", argv=["vnf", "package", "show", "--", "{}"])
# Found by this suite: not-found messages held the whole id (cut at 1000 characters)
@example(value="x" * 200_000, argv=["vnf", "package", "show", "--", "{}"])
@example(value="x" * 200_000, argv=["vnflcm", "show", "--", "{}"])
@example(value="x" * 200_000, argv=["vnflcm", "op", "show", "--", "{}"])
@example(value="x" * 200_000, argv=["vnflcm", "create", "--", "{}"])
# Found by this suite: a NUL in a file path was a ValueError, exit 1
@example(value="a\x00b", argv=["vnflcm", "instantiate", "--", "{vnf}", "{}"])
@example(value="a\x00b", argv=["vim", "register", "--config-file", "{}", "--", "fuzz"])
def test_hostile_argument_values(world, value, argv):
    args = [a.replace("{vnf}", world.vnf.id) if a == "{vnf}" else
            (value if a == "{}" else a) for a in argv]
    outcome = run_cli(args)
    world.check_refused(outcome, f"{' '.join(argv[:3])} with {value[:60]!r}")


@given(name=st.one_of(undecodable, control_text, st.just("x" * 256)))
@example(name="bad\x1b[31mname")  # found by this suite: instance names took any text
@example(name="bad\nname")
def test_hostile_vnf_instance_name_is_refused(world, name):
    outcome = run_cli(["vnflcm", "create", world.package.vnfd_id, f"--name={name}"])
    world.check_refused(outcome, f"vnflcm create --name {name!r}")
