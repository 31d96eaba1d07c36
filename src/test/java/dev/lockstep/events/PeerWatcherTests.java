package dev.lockstep.events;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import dev.lockstep.pair.PeerReach;
import dev.lockstep.replication.CoordinatorState;
import dev.lockstep.replication.ReplicationMode;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The {@code peer} events: the first answer, then one event per change of reachability,
 * state or mode, and none while nothing changes.
 */
class PeerWatcherTests {

	private static final String API = "http://127.0.0.1:8081";

	@Test
	void publishesTheFirstAnswerThenEachLossReturnAndRoleChange() throws Exception {
		Deque<PeerReach> answers = new ArrayDeque<>(
				List.of(up(CoordinatorState.IDLE, null), up(CoordinatorState.IDLE, null), down(), down(),
						up(CoordinatorState.RUNNING, ReplicationMode.SECONDARY),
						up(CoordinatorState.RUNNING, ReplicationMode.SECONDARY)));
		EventLog log = new EventLog(100, 100);
		EventLog.Subscription events = log.subscribe(null);
		PeerWatcher watcher = new PeerWatcher(log, () -> Optional.of(answers.removeFirst()), Duration.ofDays(1));
		for (int i = 0; i < 6; i++) {
			watcher.poll();
		}
		List<PeerWatcher.PeerEvent> published = new ArrayList<>();
		for (Event event = events.next(0, TimeUnit.MILLISECONDS); event != null; event = events.next(0,
				TimeUnit.MILLISECONDS)) {
			assertThat(event.type()).isEqualTo("peer");
			published.add((PeerWatcher.PeerEvent) event.data());
		}
		assertThat(published).extracting(PeerWatcher.PeerEvent::reachable).containsExactly(true, false, true);
		assertThat(published).extracting(PeerWatcher.PeerEvent::wasReachable).containsExactly(null, true, false);
		assertThat(published.get(1).problem()).contains("refused");
		assertThat(published.get(2).mode()).isEqualTo("secondary");
	}

	@Test
	void withoutAPeerNothingIsPublished() throws Exception {
		EventLog log = new EventLog(100, 100);
		EventLog.Subscription events = log.subscribe(null);
		new PeerWatcher(log, Optional::empty, Duration.ofDays(1)).poll();
		assertThat(events.next(0, TimeUnit.MILLISECONDS)).isNull();
	}

	private static PeerReach up(CoordinatorState state, ReplicationMode mode) {
		return new PeerReach(API, true, null, state, mode);
	}

	private static PeerReach down() {
		return new PeerReach(API, false, "The peer " + API + " cannot be reached: Connection refused", null, null);
	}

}
