"""The tutor tools over MCP: a client on loopback lists exactly the five tools, with their docstrings
and typed arguments, and calls them."""
import asyncio
import threading

import pytest

from diffusion_core.app import tutor_tools as tt

mcp = pytest.importorskip("mcp", reason="the gradio[mcp] extra (requirements.txt) serves the tools")


def run_async(coro):
    """Run `coro` on a loop of its own (the browser tests keep one running in this thread)."""
    box = {}
    th = threading.Thread(target=lambda: box.setdefault("out", asyncio.run(coro)))
    th.start()
    th.join(300)
    return box["out"]


async def session_calls(url: str):
    from mcp import ClientSession
    from mcp.client.streamable_http import streamablehttp_client

    async with streamablehttp_client(url) as (read, write, _):
        async with ClientSession(read, write) as s:
            await s.initialize()
            tools = (await s.list_tools()).tools
            check = await s.call_tool("check_noise_schedule", {"schedule": "linear", "T": 50, "rescale_zero_snr": False})
            noisy = await s.call_tool("noise_image", {"image": "Photo: coffee", "schedule": "cosine", "T": 1000, "t": 300, "seed": 1})
            bad = await s.call_tool("check_noise_schedule", {"schedule": "banana", "T": 50, "rescale_zero_snr": False})
            return tools, check, noisy, bad


def test_a_tutor_lists_the_tools_and_calls_them(app_url):
    tools, check, noisy, bad = run_async(session_calls(f"{app_url}gradio_api/mcp/"))
    by_name = {t.name: t for t in tools}
    assert set(by_name) == {f.__name__ for f in tt.TOOLS}
    schema = by_name["generate_digits"].inputSchema["properties"]
    assert {"digit", "images", "seed", "steps", "guidance"} <= set(schema)
    assert "Diffusion Transformer" in by_name["generate_digits"].description
    text = " ".join(getattr(c, "text", "") for c in check.content)
    assert "few_steps" not in text and "not pure noise" in text and "| 49 |" in text
    assert "image" in {c.type for c in noisy.content}
    assert bad.isError or "Unknown schedule" in " ".join(getattr(c, "text", "") for c in bad.content)


def test_the_tools_work_as_plain_functions():
    assert "alpha_bar" in tt.check_noise_schedule("cosine", 1000) and "half" in tt.check_noise_schedule("cosine", 1000).lower()
    img = tt.noise_image("MNIST digit 0 (#1)", "cosine", 1000, 1000, 0)
    assert img.shape[1] == 280 and img.shape[0] > 280 and img.ndim == 3  # the digit (upscaled), then its caption line
    grid = tt.generate_digits("3", 2, 0, 4, 2.0)
    assert grid.ndim == 3
    three = tt.compare_models(7, 0, 2)
    assert three.shape[1] > 3 * 100
    assert "Verdict" in tt.measured_comparison()
    with pytest.raises(ValueError, match="Unknown image"):
        tt.noise_image("/etc/passwd")
