"""The Class panel on the running app: the long poll beside Gradio's queue wakes a page within 2 s of a
change and refuses pages that are not in the room; a damaged database turns classes off with a sentence on
the panel while every single-user tab goes on."""
import threading
import time

import httpx
import pytest
from gradio_client import Client

from diffusion_core.app.classroom import classroom_ui as cui
from diffusion_core.app.classroom.lesson_polls import poll_titles
from diffusion_core.app.classroom.room_events import EVENTS_PATH
from diffusion_core.data.images_io import image_choices
from diffusion_core.classroom.polls import Poll
from diffusion_core.classroom.rooms import shared_classroom
from diffusion_core.paths import ROOMS_DB_ENV


def wait(app_url, code, secret, since, timeout=30.0):
    return httpx.get(f"{app_url}{EVENTS_PATH.lstrip('/')}", params={"room": code, "since": since},
                     headers={"X-Classroom-Secret": secret}, timeout=timeout)


def test_the_long_poll_wakes_a_page_within_2_s_of_a_change(app_url):
    c = shared_classroom()
    code, key = c.start("test")
    _, token = c.join(code, "", "test")
    first = wait(app_url, code, token, "")  # no token yet: the current one at once
    assert first.status_code == 200 and first.headers["cache-control"] == "no-store"
    since = first.json()["change"]
    threading.Timer(0.5, c.push_view, (code, key, {"tab": "forward", "t": 600})).start()
    start = time.perf_counter()
    woken = wait(app_url, code, token, since)
    assert woken.status_code == 200 and woken.json()["change"] != since
    assert time.perf_counter() - start < 2.5  # 0.5 s before the push, then at once
    assert wait(app_url, code, "not-a-member", "").status_code == 403
    assert httpx.post(f"{app_url}{EVENTS_PATH.lstrip('/')}", timeout=10).status_code == 405
    with pytest.raises(httpx.ReadTimeout):  # nothing changed: the page keeps waiting
        wait(app_url, code, token, woken.json()["change"], timeout=1.0)
    deadline = time.time() + 5
    while c.signals.waiting(code) and time.time() < deadline:  # the closed request stopped waiting
        time.sleep(0.1)
    assert c.signals.waiting(code) == 0
    c.end(code, key)
    gone = wait(app_url, code, token, since)
    assert gone.status_code == 403 and gone.json() == wait(app_url, "ZZZZZZZ", token, "").json()  # no oracle of live codes


def test_a_damaged_database_turns_classes_off_with_a_message_and_the_tabs_go_on(app_url, tmp_path, monkeypatch):
    bad = tmp_path / "rooms.sqlite3"
    bad.write_bytes(b"\x00\xffnot sqlite" * 500)
    monkeypatch.setenv(ROOMS_DB_ENV, str(bad))
    client = Client(app_url, verbose=False, download_files=str(tmp_path))
    with pytest.raises(Exception, match="damaged"):
        client.predict(api_name="/class_start")
    refused = wait(app_url, "ABCDEFG", "x", "")
    assert refused.status_code == 503 and "damaged" in refused.json()["error"]
    panel = cui.resume_class("", "", None)  # what a page shows on load
    assert "damaged" in panel[cui.PANEL.index("status")] and ROOMS_DB_ENV in panel[cui.PANEL.index("status")]
    spec = client.predict("cosine", 1000, False, api_name="/named_spec")
    image, readout, alpha_bar = client.predict(image_choices()[0], None, spec, 500, "closed form q(x_t | x_0)", 0.99, 0,
                                               api_name="/forward")
    assert image and "t = 500" in readout


def test_a_forged_push_or_poll_over_the_api_is_refused(app_url, tmp_path):
    c = shared_classroom()
    code, key = c.start("test")
    _, token = c.join(code, "", "test")
    client = Client(app_url, verbose=False, download_files=str(tmp_path))
    for forged in (token, "guess"):
        with pytest.raises(Exception, match="Only the teacher's page"):
            client.predict(code, forged, poll_titles()[0], "", "", api_name="/class_poll")
    with pytest.raises(Exception, match="Only the teacher's page"):
        cui.push_view(code, token, {"tab": "forward", "t": 3})
    assert c.state(code, key).poll is None and c.state(code, key).view is None
    c.open_poll(code, key, Poll(question="q", choices=("a", "b")))
    assert c.state(code, token).poll.question == "q"
    c.end(code, key)
