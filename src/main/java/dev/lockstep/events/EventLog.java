package dev.lockstep.events;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArraySet;
import java.util.concurrent.TimeUnit;

import org.jspecify.annotations.Nullable;

import org.springframework.context.SmartLifecycle;

/**
 * Numbers events, keeps the last of them for clients that resume, and hands each to every
 * subscribed client's queue. Publishing never waits for a client: a client whose queue is
 * full is dropped.
 * <p>
 * When the application stops, the log ends every client's stream after the events already
 * queued for it and refuses new clients, before the web server's graceful shutdown
 * starts: a stream never ends by itself, so an open one would otherwise hold the shutdown
 * for its whole timeout.
 */
final class EventLog implements SmartLifecycle {

	/** Queued last for a client whose stream ends; never written. */
	static final Event END = new Event(-1, "end", "");

	private final int replay;

	private final int clientBuffer;

	/** Guarded by this. */
	private final Deque<Event> recent = new ArrayDeque<>();

	/** Guarded by this. */
	private long lastId;

	private final Set<Subscription> subscriptions = new CopyOnWriteArraySet<>();

	/** Guarded by this. */
	private boolean closed;

	EventLog(int replay, int clientBuffer) {
		this.replay = replay;
		this.clientBuffer = clientBuffer;
	}

	/**
	 * Publishes an event to every client and keeps it for those that resume.
	 * @return the event, with its id
	 */
	synchronized Event publish(String type, Object data) {
		Event event = new Event(++this.lastId, type, data);
		this.recent.addLast(event);
		while (this.recent.size() > this.replay) {
			this.recent.removeFirst();
		}
		this.subscriptions.removeIf((subscription) -> !subscription.offer(event));
		return event;
	}

	/**
	 * Subscribes a client.
	 * @param lastEventId the id of the last event the client saw, from
	 * {@code Last-Event-ID}, or {@code null} for a new client
	 * @return the subscription, whose queue already holds the events the client missed,
	 * or a {@code missed} event if they are no longer kept; {@code null} once the
	 * application is stopping
	 */
	synchronized @Nullable Subscription subscribe(@Nullable Long lastEventId) {
		if (this.closed) {
			return null;
		}
		List<Event> missed = new ArrayList<>();
		if (lastEventId != null && lastEventId != this.lastId) {
			long oldest = this.recent.isEmpty() ? this.lastId + 1 : this.recent.getFirst().id();
			if (lastEventId >= oldest - 1 && lastEventId < this.lastId) {
				this.recent.stream().filter((event) -> event.id() > lastEventId).forEach(missed::add);
			}
			else {
				Map<String, Object> data = new LinkedHashMap<>();
				data.put("lastEventId", lastEventId);
				data.put("oldestEventId", oldest);
				data.put("detail", "The events after " + lastEventId + " are no longer kept (only the last "
						+ this.replay + " are); read the current state with GET /api/v1/replication");
				missed.add(new Event(this.lastId, "missed", data));
			}
		}
		Subscription subscription = new Subscription(this.clientBuffer + missed.size());
		missed.forEach(subscription::offer);
		this.subscriptions.add(subscription);
		return subscription;
	}

	void unsubscribe(Subscription subscription) {
		this.subscriptions.remove(subscription);
	}

	int subscribers() {
		return this.subscriptions.size();
	}

	synchronized long lastId() {
		return this.lastId;
	}

	@Override
	public synchronized void start() {
		this.closed = false;
	}

	/**
	 * Ends every client's stream after what is queued for it, and refuses new clients.
	 */
	@Override
	public synchronized void stop() {
		this.closed = true;
		this.subscriptions.forEach(Subscription::end);
		this.subscriptions.clear();
	}

	@Override
	public synchronized boolean isRunning() {
		return !this.closed;
	}

	/**
	 * One client's queue of events not yet written.
	 */
	static final class Subscription {

		private final BlockingQueue<Event> queue;

		private volatile boolean dropped;

		Subscription(int capacity) {
			this.queue = new ArrayBlockingQueue<>(capacity);
		}

		/**
		 * Queues an event for the client, or drops the client if its queue is full.
		 * @return whether the client is still subscribed
		 */
		boolean offer(Event event) {
			if (!this.dropped && !this.queue.offer(event)) {
				this.dropped = true;
				this.queue.clear();
			}
			return !this.dropped;
		}

		/**
		 * Queues the end of the stream after the events already queued, or in their stead
		 * if the queue is full.
		 */
		void end() {
			if (!this.queue.offer(END)) {
				this.queue.clear();
				this.queue.offer(END);
			}
		}

		/**
		 * Waits up to the given time for the next event.
		 * @return the event, {@link #END} when the stream is to end, or {@code null} if
		 * none came
		 */
		@Nullable Event next(long timeout, TimeUnit unit) throws InterruptedException {
			return this.queue.poll(timeout, unit);
		}

		/**
		 * Whether the client fell too far behind and must be dropped.
		 */
		boolean dropped() {
			return this.dropped;
		}

	}

}
