"""The ghost house: scripted moves inside it and the release rules (sheet §3.8)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from server.game.model import DOWN, G_ENTER, G_LEAVE, G_OUT, G_WAIT, LEFT, RIGHT, UP, Ghost
from server.game.tables import GLOBAL_RELEASE

if TYPE_CHECKING:
    from server.game.arena import Arena

BOB_TOP = -4  # waiting ghosts bob between centre - 4 and centre + 4 (pixel y 136..144)
BOB_BOTTOM = 4


def _toward(value: int, goal: int) -> int:
    return value + (1 if goal > value else -1 if goal < value else 0)


def move_in_house(arena: Arena, g: Ghost) -> None:
    """One 0.5 px/frame step of a ghost waiting, leaving or (as eyes) entering the house."""
    maze = arena.maze
    cx, cy = maze.house_centre
    ey = maze.house_entry[1]
    if g.state == G_WAIT:
        if g.y <= cy + BOB_TOP:
            g.dir = DOWN
        elif g.y >= cy + BOB_BOTTOM:
            g.dir = UP
        g.y += 1 if g.dir == DOWN else -1
    elif g.state == G_LEAVE:
        if g.x != cx:  # Inky and Clyde slide sideways to the centre first, then all rise
            g.dir = RIGHT if cx > g.x else LEFT
            g.x = _toward(g.x, cx)
        else:
            g.dir = UP
            g.y -= 1
            if g.y == ey:
                leave(arena, g)
    elif g.state == G_ENTER:
        slot = maze.house_slots[g.id]
        if g.y != cy:
            g.dir = DOWN
            g.y = _toward(g.y, cy)
        elif g.x != slot:
            g.dir = RIGHT if slot > g.x else LEFT
            g.x = _toward(g.x, slot)
        else:
            revive(arena, g)


def leave(arena: Arena, g: Ghost) -> None:
    """The ghost stands above the door: it heads left, or right if a reversal is pending."""
    g.state = G_OUT
    g.dir = RIGHT if g.reverse else LEFT
    g.reverse = False
    g.next = g.dir
    g.tile = (g.y >> 3) * 32 + ((g.x + 16) >> 3)


def revive(arena: Arena, g: Ghost) -> None:
    """Eyes reached their slot: a normal (never frightened) ghost again, waiting to leave."""
    g.fright = False
    g.reverse = False
    g.state = G_WAIT
    g.dir = UP
    if g.id == 0:
        release(arena, g)


def release(arena: Arena, g: Ghost) -> None:
    """Start the scripted walk out of the house."""
    g.state = G_LEAVE
    if arena.maze.house_centre[0] == g.x and g.y == arena.maze.house_entry[1]:
        leave(arena, g)


def waiting_ghost(arena: Arena) -> Ghost | None:
    """The most preferred ghost still waiting: Pinky, then Inky, then Clyde."""
    for g in arena.ghosts[1:]:
        if g.state == G_WAIT:
            return g
    return None


def count_pellet(arena: Arena) -> None:
    """A pellet was eaten: bump the global or one personal counter and reset the idle timer."""
    arena.idle = 0
    if arena.global_on:
        arena.global_count += 1
        return
    g = waiting_ghost(arena)
    if g is not None:
        arena.house_counts[g.id - 1] += 1


def update_release(arena: Arena) -> None:
    """Once per playing frame: release whichever ghost the counters or idle timer allow."""
    g = waiting_ghost(arena)
    if arena.global_on:
        count = arena.global_count
        for ghost in arena.ghosts[1:3]:
            if ghost.state == G_WAIT and count == GLOBAL_RELEASE[ghost.id - 1]:
                release(arena, ghost)
        if count == GLOBAL_RELEASE[2] and arena.ghosts[3].state == G_WAIT:
            # Clyde stays in; the personal counters take over again (ROM, not SLB's release).
            arena.global_on = False
            arena.global_count = 0
    elif g is not None and arena.house_counts[g.id - 1] >= arena.lv.house_limits[g.id - 1]:
        release(arena, g)
        g = waiting_ghost(arena)
    arena.idle += 1
    if arena.idle >= arena.lv.inactivity_frames:
        arena.idle = 0
        g = waiting_ghost(arena)
        if g is not None:
            release(arena, g)
