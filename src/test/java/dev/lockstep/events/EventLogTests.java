package dev.lockstep.events;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Numbering, replay and the per-client buffer of {@link EventLog}, with a client that
 * never returns from a write.
 */
class EventLogTests {

	@Test
	void resumesAfterTheLastEventSeenOrSaysItCannot() throws Exception {
		EventLog log = new EventLog(5, 10);
		for (int i = 0; i < 8; i++) {
			log.publish("state", Map.of("n", i));
		}
		assertThat(ids(log.subscribe(5L), 10)).containsExactly(6L, 7L, 8L);
		assertThat(ids(log.subscribe(3L), 10)).containsExactly(4L, 5L, 6L, 7L, 8L);
		assertThat(ids(log.subscribe(8L), 10)).isEmpty();
		EventLog.Subscription tooOld = log.subscribe(2L);
		Event missed = tooOld.next(0, TimeUnit.MILLISECONDS);
		assertThat(missed.type()).isEqualTo("missed");
		assertThat(missed.id()).isEqualTo(8L);
		assertThat(missed.data()).asString().contains("oldestEventId=4");
		assertThat(log.subscribe(99L).next(0, TimeUnit.MILLISECONDS).type()).as("an id from before a restart")
			.isEqualTo("missed");
	}

	@Test
	void aClientThatDoesNotReadIsDroppedAndHoldsUpNoOne() throws Exception {
		EventLog log = new EventLog(1000, 8);
		CountDownLatch neverReleased = new CountDownLatch(1);
		CountDownLatch closed = new CountDownLatch(1);
		List<Long> fast = new ArrayList<>();
		EventLog.Subscription slowSubscription = log.subscribe(null);
		Thread slow = new Thread(new EventSender(log, slowSubscription, new EventSink() {

			@Override
			public void send(Event event) {
				try {
					neverReleased.await();
				}
				catch (InterruptedException ex) {
					Thread.currentThread().interrupt();
				}
			}

			@Override
			public void comment(String text) {
			}

			@Override
			public void close() {
				closed.countDown();
			}

		}, Duration.ofSeconds(15)));
		slow.start();
		EventLog.Subscription fastSubscription = log.subscribe(null);
		long start = System.nanoTime();
		for (int i = 0; i < 10_000; i++) {
			log.publish("operation", Map.of("n", i));
			Event event;
			while ((event = fastSubscription.next(0, TimeUnit.MILLISECONDS)) != null) {
				fast.add(event.id());
			}
		}
		long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
		assertThat(millis).as("10,000 publications with a client stuck in a write").isLessThan(5_000);
		assertThat(slowSubscription.dropped()).isTrue();
		assertThat(fastSubscription.dropped()).isFalse();
		assertThat(fast).hasSize(10_000).startsWith(1L, 2L).endsWith(10_000L);
		assertThat(log.subscribers()).isEqualTo(1);
		slow.interrupt();
		assertThat(closed.await(5, TimeUnit.SECONDS)).isTrue();
	}

	private static List<Long> ids(EventLog.Subscription subscription, int max) throws InterruptedException {
		List<Long> ids = new ArrayList<>();
		Event event;
		while (ids.size() < max && (event = subscription.next(0, TimeUnit.MILLISECONDS)) != null) {
			ids.add(event.id());
		}
		return ids;
	}

	@Test
	void stoppingEndsEveryStreamAfterWhatIsQueuedAndRefusesNewClients() throws Exception {
		EventLog log = new EventLog(10, 2);
		EventLog.Subscription behind = log.subscribe(null);
		EventLog.Subscription reading = log.subscribe(null);
		log.publish("state", Map.of("n", 1));
		assertThat(reading.next(0, TimeUnit.MILLISECONDS).id()).isEqualTo(1L);
		log.publish("state", Map.of("n", 2));
		log.stop();
		assertThat(log.isRunning()).isFalse();
		assertThat(log.subscribe(null)).as("a client that comes while the node stops").isNull();
		assertThat(reading.next(0, TimeUnit.MILLISECONDS).id()).isEqualTo(2L);
		assertThat(reading.next(0, TimeUnit.MILLISECONDS)).isSameAs(EventLog.END);
		// A full queue has no room to end after: the end takes the place of what waits.
		assertThat(behind.next(0, TimeUnit.MILLISECONDS)).isSameAs(EventLog.END);
		assertThat(log.subscribers()).isZero();
		log.publish("state", Map.of("n", 3));
		assertThat(reading.next(0, TimeUnit.MILLISECONDS)).isNull();
		log.start();
		assertThat(log.subscribe(2L).next(0, TimeUnit.MILLISECONDS).id()).isEqualTo(3L);
	}

	@Test
	void aSenderEndsItsStreamWhenTheLogStops() throws Exception {
		EventLog log = new EventLog(10, 8);
		List<String> written = new ArrayList<>();
		CountDownLatch closed = new CountDownLatch(1);
		Thread sender = new Thread(new EventSender(log, log.subscribe(null), new EventSink() {

			@Override
			public void send(Event event) {
				written.add("event " + event.id());
			}

			@Override
			public void comment(String text) {
				written.add(text);
			}

			@Override
			public void close() {
				closed.countDown();
			}

		}, Duration.ofMinutes(10)));
		sender.start();
		log.publish("state", Map.of("n", 1));
		log.stop();
		assertThat(closed.await(10, TimeUnit.SECONDS)).as("the stream ended without waiting for a keep-alive").isTrue();
		sender.join(10_000);
		assertThat(written).containsExactly("connected", "event 1");
	}

}
