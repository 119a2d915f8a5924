import os
import signal
import subprocess
import sys

from pyslim_helpers import launch

LAUNCH = launch.__file__
PY = sys.executable


def run(tmp_path, steps, server=None):
    server = server or [PY, "-c", "import os; print(open('order').read() + str(os.getpid()))"]
    p = subprocess.Popen(
        [PY, "-I", LAUNCH, *steps, "--", *server],
        cwd=str(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = p.communicate(timeout=60)
    return p.returncode, out, err, p.pid


def step(word):
    return "%s -c \"open('order', 'a').write('%s ')\"" % (PY, word)


def test_steps_run_in_order_then_the_server_replaces_the_launcher(tmp_path):
    code, out, err, pid = run(tmp_path, [step("one"), step("two")])
    assert code == 0, err
    assert out.strip() == "one two %d" % pid  # same process: exec, not a child
    assert "pyslim: running pre-start step 1/2" in err and "pre-start step 2/2" in err


def test_a_failing_step_stops_with_its_exit_code(tmp_path):
    fail = "%s -c 'import sys; sys.exit(7)'" % PY
    code, out, err, _ = run(tmp_path, [step("one"), fail, step("three")])
    assert code == 7
    assert "pre-start step 2/3" in err and "failed with exit code 7; the server was not started" in err
    assert out == ""
    assert (tmp_path / "order").read_text() == "one "


def test_a_missing_command_is_127(tmp_path):
    code, _, err, _ = run(tmp_path, ["pyslim-no-such-command x"])
    assert code == 127
    assert "pre-start step 1/1 `pyslim-no-such-command x` cannot run" in err


def test_a_file_that_cannot_run_is_126(tmp_path):
    (tmp_path / "notexec").write_text("x")
    code, _, err, _ = run(tmp_path, [str(tmp_path / "notexec")])
    assert code == 126, err


def test_a_step_killed_by_a_signal_is_128_plus_n(tmp_path):
    kill = "%s -c 'import os, signal; os.kill(os.getpid(), signal.SIGKILL)'" % PY
    code, _, err, _ = run(tmp_path, [kill])
    assert code == 128 + signal.SIGKILL, err


def test_a_missing_server_is_127(tmp_path):
    code, _, err, _ = run(tmp_path, [], server=["pyslim-no-such-server", "--port", "80"])
    assert code == 127 and "cannot start the server `pyslim-no-such-server --port 80`" in err


def test_usage_without_the_separator(tmp_path, capsys):
    assert launch.main(["step"]) == 2
    assert "usage" in capsys.readouterr().err


def test_the_launcher_is_small_and_stands_alone():
    assert os.path.getsize(LAUNCH) < 4096
    with open(LAUNCH) as f:
        text = f.read()
    assert "from ." not in text and "import pyslim_helpers" not in text
