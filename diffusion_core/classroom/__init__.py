"""A class in one room: the teacher's view pushed to the students who follow, live polls, presence.

    room_db       the database: one SQLite file (WAL), a schema version and its migrations
    rooms         `Classroom`: rooms, members, polls and answers, with their keys, bounds and expiry
    room_codes    room codes (unguessable within a room's life) and the teacher's and students' secrets
    polls         a poll (choices or a number), its answers checked, its histogram
    room_limits   how often a client, a member or a room may act (windows kept in memory)
    room_signals  who waits for a room to change, and who was heard lately (presence)

No gradio here: the app's panel (`app/classroom/`) and its long-poll endpoint call `Classroom`.
"""
