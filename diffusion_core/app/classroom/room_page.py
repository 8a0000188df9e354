"""The page's side of a class, in JavaScript: remembering the room, and waiting for it to change.

- `RECALL_JS` (on load) reads the room this browser was in from localStorage, so a reload keeps a student
  in the class and the teacher in control (the teacher key stays in the teacher's own browser; a student's
  link carries only the code).
- `REMEMBER_JS` (after every event that draws the panel) stores it again, or forgets it when the class is
  over, and tells the waiting loop.
- `WAIT_JS` (on load, once per page) is the loop: it asks `classroom/events` (`room_events`) for the next
  change, and on a change clicks the hidden `#class-sync` button: one Gradio event per real change, none
  while the class is idle. A teacher's page waits a second between two draws (a flood of answers draws
  the counts once a second); a closed class (403) draws once more and stops; a refusal waits longer.
"""
from __future__ import annotations

from diffusion_core.app.classroom.room_events import EVENTS_PATH, NOT_MEMBER, REFUSED

STORE_KEY = "diffusion-classroom-room"
AFTER_END_MS, REFUSED_MS = 5000, 15000  # how long the loop rests after a closed class, after a refusal

RECALL_JS = f"""() => {{
  try {{
    const r = JSON.parse(localStorage.getItem('{STORE_KEY}') || '{{}}');
    return [typeof r.code === 'string' ? r.code : '', typeof r.secret === 'string' ? r.secret : ''];
  }} catch (e) {{ return ['', '']; }}
}}"""

REMEMBER_JS = f"""(code, secret, role, change) => {{
  try {{
    if (code && secret) localStorage.setItem('{STORE_KEY}', JSON.stringify({{code, secret}}));
    else localStorage.removeItem('{STORE_KEY}');
  }} catch (e) {{}}
  window.__classRoom = code && secret ? {{code, secret, role, change}} : null;
  return [];
}}"""

WAIT_JS = f"""() => {{
  if (window.__classWaiting) return [];
  window.__classWaiting = true;
  const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
  const page = window.location.href.split('#')[0].split('?')[0];
  const url = new URL('{EVENTS_PATH.lstrip("/")}', page.endsWith('/') ? page : page + '/');
  const draw = () => {{ const b = document.querySelector('#class-sync'); if (b) b.click(); }};
  (async () => {{
    let room = null, since = '';
    for (;;) {{
      const now = window.__classRoom;
      if (!now) {{ room = null; await sleep(1000); continue; }}
      if (now !== room) {{ room = now; since = now.change || ''; }}
      let r = null;
      try {{
        url.search = new URLSearchParams({{room: room.code, since}}).toString();
        r = await fetch(url, {{headers: {{'X-Classroom-Secret': room.secret}}, cache: 'no-store'}});
      }} catch (e) {{ await sleep(3000); continue; }}
      if (window.__classRoom !== room) continue;
      if (r.status === 200) {{
        const change = (await r.json()).change;
        if (change !== since) {{ since = change; draw(); await sleep(room.role === 'teacher' ? 1000 : 100); }}
      }} else if (r.status === {NOT_MEMBER}) {{ draw(); await sleep({AFTER_END_MS}); }}
      else {{ await sleep(r.status === {REFUSED} ? {REFUSED_MS} : {AFTER_END_MS}); }}
    }}
  }})();
  return [];
}}"""
