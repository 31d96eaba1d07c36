package dev.lockstep.events;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

/**
 * Writes one client's events on a thread of its own, so that a client that reads slowly
 * holds up nobody but itself: it writes a first comment at once, each event of the
 * client's subscription, a comment after every {@code keepAlive} of silence, and ends the
 * stream when the client goes away, was dropped for falling behind, or the application
 * stops.
 */
final class EventSender implements Runnable {

	private static final Log logger = LogFactory.getLog(EventSender.class);

	private final EventLog log;

	private final EventLog.Subscription subscription;

	private final EventSink sink;

	private final long keepAliveMillis;

	EventSender(EventLog log, EventLog.Subscription subscription, EventSink sink, Duration keepAlive) {
		this.log = log;
		this.subscription = subscription;
		this.sink = sink;
		this.keepAliveMillis = keepAlive.toMillis();
	}

	@Override
	public void run() {
		try {
			// Sent at once, so that the client gets the response's headers without
			// waiting for the first event or keep-alive.
			this.sink.comment("connected");
			while (!this.subscription.dropped()) {
				Event event = this.subscription.next(this.keepAliveMillis, TimeUnit.MILLISECONDS);
				if (EventLog.END.equals(event)) {
					return;
				}
				if (this.subscription.dropped()) {
					break;
				}
				if (event != null) {
					this.sink.send(event);
				}
				else {
					this.sink.comment("keep-alive");
				}
			}
			logger.info("Dropped an event stream client that fell more than its buffer behind");
		}
		catch (IOException ex) {
			// The client went away
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
		}
		finally {
			this.log.unsubscribe(this.subscription);
			this.sink.close();
		}
	}

}
