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

/**
 * Numbers events, keeps the last of them for clients that resume, and hands each to every
 * subscribed client's queue. Publishing never waits for a client: a client whose queue is
 * full is dropped.
 */
final class EventLog {

	private final int replay;

	private final int clientBuffer;

	/** Guarded by this. */
	private final Deque<Event> recent = new ArrayDeque<>();

	/** Guarded by this. */
	private long lastId;

	private final Set<Subscription> subscriptions = new CopyOnWriteArraySet<>();

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
	 * or a {@code missed} event if they are no longer kept
	 */
	synchronized Subscription subscribe(@Nullable Long lastEventId) {
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
		 * Waits up to the given time for the next event.
		 * @return the event, or {@code null} if none came
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
