package dev.lockstep.events;

import java.io.IOException;

/**
 * Where one client's events are written; its methods may block for as long as the client
 * takes to read.
 */
interface EventSink {

	void send(Event event) throws IOException;

	void comment(String text) throws IOException;

	/** Ends the stream; called once, by the thread that writes to it. */
	void close();

}
