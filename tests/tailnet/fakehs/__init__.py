"""fakehs: a protocol-faithful fake Tailscale control server (ts2021) with an embedded DERP relay.

Written for CI tests of tunless' C++ tailnet client, from the upstream Go sources
(tailscale control/controlbase, controlhttpserver, tailcfg, derp; headscale hscontrol).
Entry point: tests/tailnet/fake_headscale.py.
"""
