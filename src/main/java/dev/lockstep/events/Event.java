package dev.lockstep.events;

/**
 * One event of the stream.
 *
 * @param id its id, greater than that of every event before it
 * @param type its type, the SSE event name ({@code state}, {@code operation},
 * {@code error}, {@code sync}, or {@code missed} for a client that cannot resume)
 * @param data what happened, sent as JSON
 */
record Event(long id, String type, Object data) {
}
