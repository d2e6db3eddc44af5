"""The admin endpoint binds to 127.0.0.1 unless told otherwise; bound to an
address other machines reach, the host refuses to start without a token,
and with one every request must carry it, except the health probes (GET
/livez and /readyz), which orchestrators send without one, and GET /metrics
with --metrics-without-token. The commands
that talk to a host send it, and say a refusal (exit 1) from no answer (2).
A rotated token file is read again every two seconds and at each reload
(SIGHUP): the new token is taken and the old refused; a file left empty
keeps the token, said once."""
import os
import signal
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

PIPELINE = """source: {name: in, stream_name: tk-in}
steps:
  - {kind: sink, name: out, stream_name: tk-out}
"""


def get(port, token=None, path="/status", method="GET"):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def replace(env, token):
    """Writes the token file as a Secret's update does: whole, in one step."""
    env.write("token.new", token)
    os.replace(env.path("token.new"), env.path("token"))


def main():
    with h.Env() as env:
        bootstrap = env.start_broker(["tk-in:1", "tk-out:1"])
        pipeline = env.write("p.yaml", PIPELINE)
        config = env.write("d.yaml", h.deployment())
        public = ["--admin-port", "0", "--admin-address", "0.0.0.0"]

        refused = env.start_host(pipeline, config, bootstrap, name="refused", extra=public)
        status = h.wait_for(lambda: refused.poll() is not None and (refused.returncode,), 30,
                            "the host to refuse")[0]
        assert status == 2, (status, env.log(refused))
        assert "reachable from other machines: give it a token" in env.log(refused)

        token_file = env.write("token", "s3cret-token\n")
        host = env.start_host(pipeline, config, bootstrap,
                              extra=[*public, "--admin-token-file", token_file])
        port = h.wait_for(lambda: (lambda m: m and int(m.group(1)))(
            h.re.search(r"admin endpoint on http://0\.0\.0\.0:(\d+) \(token required\)",
                        env.log(host))), 30, "the admin endpoint")
        assert get(port) == 401
        assert get(port, "wrong-token!") == 401
        assert get(port, "s3cret-token") == 200
        assert get(port, path="/metrics") == 401
        assert get(port, path="/livez") == 200
        h.wait_for(lambda: get(port, path="/readyz") == 200, 30, "/readyz without the token")
        assert get(port, path="/livez", method="POST") == 401  # only GET is a probe
        args = ["status", "--admin-port", str(port)]
        assert h.run_cli(args).returncode == 1  # 401 without the token
        result = h.run_cli([*args, "--admin-token-file", token_file])
        assert result.returncode == 0 and '"generation":1' in result.stdout, result
        result = h.run_cli(args, env=dict(os.environ, STREAMS_ADMIN_TOKEN="s3cret-token"))
        assert result.returncode == 0, result
        # Refused (1), not unanswered (2); the host goes on unpaused.
        for command in (["pause", "--no-wait"], ["resume"], ["log-level", "debug"]):
            result = h.run_cli([*command, "--admin-port", str(port)])
            assert result.returncode == 1, result
            assert "token is required" in result.stdout + result.stderr, result
        assert '"paused":false' in h.run_cli([*args, "--admin-token-file", token_file]).stdout
        for command in (["pause", "--no-wait"], ["resume"]):
            result = h.run_cli([*command, "--admin-port", str(port), "--admin-token-file",
                                token_file])
            assert result.returncode == 0, result

        # Rotated (a Secret updated in place): taken within seconds, without
        # a reload (rendered pods watch no files), and at a reload.
        kept = "it keeps the token it had"
        replace(env, "n3w-token\n")
        h.wait_for(lambda: get(port, "n3w-token") == 200, 30, "the rotated token to be taken")
        assert get(port, "s3cret-token") == 401
        assert "admin endpoint: the token was replaced (its file changed)" in env.log(host)
        assert "reload (" not in env.log(host), env.log(host)
        replace(env, "")  # emptied by mistake: the endpoint keeps its token
        h.wait_for(lambda: kept in env.log(host), 30, "the empty file")
        assert get(port) == 401 and get(port, "n3w-token") == 200
        host.send_signal(signal.SIGHUP)  # a reload says it again
        h.wait_for(lambda: env.log(host).count(kept) == 2, 30, "the empty file at the reload")
        replace(env, "t0ken-at-reload\n")
        host.send_signal(signal.SIGHUP)
        h.wait_for(lambda: get(port, "t0ken-at-reload") == 200, 30, "the token at the reload")
        assert env.log(host).count(kept) == 2, env.log(host)  # said once per cause
        assert env.stop(host) == 0, env.log(host)
        env.write("token", "s3cret-token\n")

        # --metrics-without-token opens GET /metrics (a Prometheus scraping
        # pods), and nothing else.
        host = env.start_host(pipeline, config, bootstrap, name="scraped",
                              extra=[*public, "--admin-token-file", token_file,
                                     "--metrics-without-token"])
        port = h.wait_for(lambda: (lambda m: m and int(m.group(1)))(
            h.re.search(r"admin endpoint on http://0\.0\.0\.0:(\d+) \(token required, but for "
                        r"/metrics\)", env.log(host))), 30, "the admin endpoint")
        assert get(port, path="/metrics") == 200
        assert get(port, path="/metrics", method="POST") == 401
        assert get(port) == 401
        assert get(port, path="/state/out/0?prefix=") == 401
        assert get(port, path="/reload", method="POST") == 401
        assert env.stop(host) == 0, env.log(host)
    print("ok")


if __name__ == "__main__":
    main()
