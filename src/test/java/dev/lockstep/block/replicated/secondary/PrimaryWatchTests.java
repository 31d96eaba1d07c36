package dev.lockstep.block.replicated.secondary;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

import dev.lockstep.block.Export;
import dev.lockstep.block.replicated.secondary.PrimaryLink.State;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The secondary's watch on its primary, on a clock the test moves: breaks, silence,
 * planned stops, and what clears a loss.
 */
class PrimaryWatchTests {

	private static final Instant START = Instant.parse("2026-01-01T10:00:00Z");

	private static final Duration LIMIT = Duration.ofMillis(5300);

	private static final Runnable NO_DISCONNECT = () -> {
	};

	private final AtomicLong nanos = new AtomicLong(1_000_000_000L);

	private final MovingClock clock = new MovingClock();

	private final AtomicBoolean replicaClosed = new AtomicBoolean();

	private final PrimaryLink link = new PrimaryLink("disk0");

	private final PrimaryWatch watch = new PrimaryWatch("disk0", LIMIT, this.replicaClosed::get, this.link, this.clock,
			this.nanos::get);

	@Test
	void aBreakIsALossUntilASynchronisationStartedAfterItCompletes() {
		Export.ClientListener replica = this.watch.replicaClients();
		Export.ClientListener.Departure first = replica.arrived(NO_DISCONNECT);
		assertThat(this.watch.state()).isEqualTo(PrimaryWatch.State.PRESENT);
		advance(Duration.ofSeconds(2));
		first.left(false);
		assertThat(this.watch.state()).isEqualTo(PrimaryWatch.State.LOST);
		assertThat(this.watch.loss()).hasValueSatisfying((loss) -> assertThat(loss.message())
			.isEqualTo("disk 'disk0': primary lost since 2026-01-01T10:00:02Z: its connection to disk0.replica "
					+ "ended without a clean disconnect"));
		assertThat(this.link.state()).isEqualTo(State.BROKEN);
		// A new connection, and a completion without a start since the loss, clear
		// nothing; a later break keeps the first time.
		advance(Duration.ofSeconds(1));
		replica.arrived(NO_DISCONNECT).left(false);
		this.watch.synchronised();
		assertThat(this.watch.loss().orElseThrow().since()).isEqualTo(START.plusSeconds(2));
		replica.arrived(NO_DISCONNECT);
		this.watch.hashClients().arrived(NO_DISCONNECT);
		assertThat(this.watch.loss()).isPresent();
		this.watch.synchronised();
		assertThat(this.watch.loss()).isEmpty();
		assertThat(this.watch.state()).isEqualTo(PrimaryWatch.State.PRESENT);
	}

	@Test
	void aLossDuringASynchronisationOutlivesItsCompletion() {
		Export.ClientListener replica = this.watch.replicaClients();
		Export.ClientListener.Departure primary = replica.arrived(NO_DISCONNECT);
		this.watch.hashClients().arrived(NO_DISCONNECT);
		primary.left(false);
		this.watch.synchronised();
		assertThat(this.watch.loss()).isPresent();
		replica.arrived(NO_DISCONNECT);
		this.watch.hashClients().arrived(NO_DISCONNECT);
		this.watch.synchronised();
		assertThat(this.watch.loss()).isEmpty();
	}

	@Test
	void silenceLongerThanTheLimitIsALossSinceThePrimaryWasLastHeard() {
		this.watch.replicaClients().arrived(NO_DISCONNECT);
		// Requests and keepalives keep the primary present, however long it runs.
		for (int i = 0; i < 10; i++) {
			advance(Duration.ofSeconds(5));
			this.watch.heard();
			assertThat(this.watch.loss()).isEmpty();
		}
		Instant lastHeard = START.plusSeconds(50);
		advance(LIMIT);
		assertThat(this.watch.loss()).isEmpty();
		advance(Duration.ofMillis(1));
		assertThat(this.watch.loss()).hasValueSatisfying((loss) -> {
			assertThat(loss.since()).isEqualTo(lastHeard);
			assertThat(loss.reason()).isEqualTo("nothing heard from it on disk0.replica, neither a request nor a "
					+ "keepalive, for more than 5300 ms (probe-interval + forward-timeout)");
		});
		// A loss stays when the primary is heard again, until a synchronisation.
		this.watch.heard();
		assertThat(this.watch.loss()).isPresent();
		// Silence is no break: a colo secondary's checkpoints do not depend on it.
		assertThat(this.link.state()).isEqualTo(State.INTACT);
	}

	@Test
	void silenceCountsOnlyWhileAPrimaryIsConnectedAndSendsKeepalives() {
		// Before any primary connected.
		advance(Duration.ofMinutes(5));
		assertThat(this.watch.loss()).isEmpty();
		// After a planned stop.
		Export.ClientListener.Departure primary = this.watch.replicaClients().arrived(NO_DISCONNECT);
		primary.left(true);
		assertThat(this.watch.state()).isEqualTo(PrimaryWatch.State.AWAITED);
		advance(Duration.ofMinutes(5));
		assertThat(this.watch.loss()).isEmpty();
		// Without a keepalive (probe-interval 0) there is no limit.
		PrimaryWatch unlimited = new PrimaryWatch("disk0", null, this.replicaClosed::get, PrimaryWatch.NO_EVENTS,
				this.clock, this.nanos::get);
		unlimited.replicaClients().arrived(NO_DISCONNECT);
		advance(Duration.ofMinutes(5));
		assertThat(unlimited.loss()).isEmpty();
		// Once the replica is closed (a stop or failover runs).
		this.watch.replicaClients().arrived(NO_DISCONNECT);
		this.replicaClosed.set(true);
		advance(Duration.ofMinutes(5));
		assertThat(this.watch.loss()).isEmpty();
	}

	@Test
	void cleanDeparturesAndBreaksAfterTheReplicaClosedAreNoLoss() {
		Export.ClientListener replica = this.watch.replicaClients();
		replica.arrived(NO_DISCONNECT).left(true);
		assertThat(this.watch.loss()).isEmpty();
		Export.ClientListener.Departure open = replica.arrived(NO_DISCONNECT);
		this.replicaClosed.set(true);
		open.left(false);
		assertThat(this.watch.loss()).isEmpty();
		assertThat(this.link.state()).isEqualTo(State.INTACT);
		this.replicaClosed.set(false);
		replica.arrived(NO_DISCONNECT).left(false);
		assertThat(this.watch.loss()).isPresent();
		assertThat(this.link.state()).isEqualTo(State.BROKEN);
	}

	@Test
	void aSynchronisationStartingClosesEveryReplicaConnectionButTheNewestAndTheirEndsAreNoLoss() {
		Export.ClientListener replica = this.watch.replicaClients();
		List<String> closed = new ArrayList<>();
		Export.ClientListener.Departure[] departures = new Export.ClientListener.Departure[3];
		String[] names = { "first", "second", "newest" };
		for (int i = 0; i < 3; i++) {
			int connection = i;
			departures[i] = replica.arrived(() -> {
				closed.add(names[connection]);
				departures[connection].left(false);
			});
		}
		this.watch.hashClients().arrived(NO_DISCONNECT);
		assertThat(closed).containsExactly("first", "second");
		assertThat(this.watch.loss()).isEmpty();
		assertThat(this.link.state()).isEqualTo(State.SYNCHRONISING);
		this.watch.synchronised();
		this.link.synchronised();
		assertThat(this.link.state()).isEqualTo(State.INTACT);
		// The primary's own connection still counts.
		departures[2].left(false);
		assertThat(this.watch.loss()).isPresent();
	}

	private void advance(Duration duration) {
		this.nanos.addAndGet(duration.toNanos());
		this.clock.now = this.clock.now.plus(duration);
	}

	/** A clock that moves with the test's nano time. */
	private static final class MovingClock extends Clock {

		private Instant now = START;

		@Override
		public java.time.ZoneId getZone() {
			return ZoneOffset.UTC;
		}

		@Override
		public Clock withZone(java.time.ZoneId zone) {
			return this;
		}

		@Override
		public Instant instant() {
			return this.now;
		}

	}

}
