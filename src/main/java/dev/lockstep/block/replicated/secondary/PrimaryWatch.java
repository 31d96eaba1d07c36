package dev.lockstep.block.replicated.secondary;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import dev.lockstep.block.Export;
import dev.lockstep.block.replicated.protocol.PeerProtocol;
import dev.lockstep.block.replicated.protocol.PeerProtocol.Departure;

/**
 * A secondary's watch on its primary, the same in {@code colo} and {@code mirror}: the
 * primary's connections to the replica export, the synchronisations it starts over the
 * hash export, and whether it is lost (see {@link PeerProtocol}).
 *
 * <pre>
 *             connected               broke, or silent too long
 *   AWAITED ───────────▶ PRESENT ────────────────────────────▶ LOST
 *      ▲                  │   ▲                                 │
 *      └── planned stop ──┘   └──── a synchronisation started ──┘
 *                                   after the loss completed
 * </pre> The primary is lost when one of its connections ends without a clean disconnect,
 * or when it has sent nothing on the replica export, neither a request nor its keepalive
 * probe, for longer than the silence limit. Requests only write a timestamp
 * ({@link #heard()}); the silence is noticed when someone asks ({@link #loss()}). A loss
 * stays until a synchronisation that started after it completes; a failover or a stop of
 * the secondary drops the watch.
 */
final class PrimaryWatch {

	private static final Log logger = LogFactory.getLog(PrimaryWatch.class);

	/** The states of the watch. */
	enum State {

		/**
		 * No primary has connected since the start, or the newest one stopped on purpose:
		 * silence means nothing.
		 */
		AWAITED,

		/** A primary is connected: silence is timed from when it was last heard. */
		PRESENT,

		/** The primary is lost, as {@link #loss()} says. */
		LOST

	}

	/** What a secondary's own state machine hears of its primary. */
	interface Events {

		/** A connection of the primary ended without a clean disconnect. */
		void lost(Instant when);

		/** A primary started a synchronisation. */
		void synchronisationStarted(Instant when);

	}

	/** For a secondary that needs no events. */
	static final Events NO_EVENTS = new Events() {

		@Override
		public void lost(Instant when) {
		}

		@Override
		public void synchronisationStarted(Instant when) {
		}

	};

	private final String disk;

	/** How long the primary may stay silent; 0 if silence is not watched. */
	private final long silenceLimitNanos;

	private final BooleanSupplier replicaClosed;

	private final Events events;

	private final Clock clock;

	private final LongSupplier nanoTime;

	/**
	 * How to disconnect each open connection to the replica export, by the order in which
	 * they arrived.
	 */
	private final ConcurrentSkipListMap<Long, Runnable> replicaConnections = new ConcurrentSkipListMap<>();

	private final AtomicLong arrivals = new AtomicLong();

	/** When the primary was last heard from, in {@link System#nanoTime()} terms. */
	private volatile long lastHeard;

	private State state = State.AWAITED;

	/** The arrival of the newest connection to the replica export: the primary's. */
	private long newest;

	/** Connections that arrived before this one were closed by a synchronisation. */
	private long superseded;

	/** How many synchronisations have started. */
	private long synchronisations;

	/** How many synchronisations had started when the primary was lost. */
	private long synchronisationsAtLoss;

	private @Nullable PrimaryLoss loss;

	/**
	 * @param disk the disk's name, for messages
	 * @param silenceLimit how long the primary may send nothing before it counts as lost
	 * ({@code probe-interval + forward-timeout}), or null if it sends no keepalive
	 * @param replicaClosed whether the replica export has stopped taking writes; breaks
	 * after that are part of the stop and do not count
	 * @param events told of breaks and synchronisations
	 */
	PrimaryWatch(String disk, @Nullable Duration silenceLimit, BooleanSupplier replicaClosed, Events events) {
		this(disk, silenceLimit, replicaClosed, events, Clock.systemUTC(), System::nanoTime);
	}

	PrimaryWatch(String disk, @Nullable Duration silenceLimit, BooleanSupplier replicaClosed, Events events,
			Clock clock, LongSupplier nanoTime) {
		this.disk = disk;
		this.silenceLimitNanos = (silenceLimit != null && !silenceLimit.isNegative() && !silenceLimit.isZero())
				? silenceLimit.toNanos() : 0;
		this.replicaClosed = replicaClosed;
		this.events = events;
		this.clock = clock;
		this.nanoTime = nanoTime;
		this.lastHeard = nanoTime.getAsLong();
	}

	/** The primary sent a request on the replica export. */
	void heard() {
		this.lastHeard = this.nanoTime.getAsLong();
	}

	/**
	 * Follows the clients of the replica export: each is the primary's connection until a
	 * newer one arrives; one that ends is lost or not ({@link PeerProtocol#departure}).
	 */
	Export.ClientListener replicaClients() {
		return (disconnect) -> {
			long arrival = this.arrivals.incrementAndGet();
			this.replicaConnections.put(arrival, disconnect);
			arrived(arrival);
			return (clean) -> {
				this.replicaConnections.remove(arrival);
				departed(arrival, PeerProtocol.departure(clean));
			};
		};
	}

	/**
	 * Follows the clients of the hash export: each one starts a synchronisation. It first
	 * closes every connection to the replica export but the newest, which is the
	 * synchronising primary's (it connects there first): an older one is left over from
	 * before, such as a half-open connection of a primary cut off by a partition, which
	 * TCP keepalive would otherwise end hours later, and so report a healthy pair's
	 * primary lost and refuse its checkpoints. Their ends do not count. Should the newest
	 * be another client's, the primary's connection is closed, and its start fails.
	 */
	Export.ClientListener hashClients() {
		return (disconnect) -> {
			synchronisationStarted().forEach(Runnable::run);
			return (clean) -> {
			};
		};
	}

	/**
	 * The primary has completed a synchronisation: it is present, and a loss before the
	 * synchronisation started is over. A loss since then (the primary died right after
	 * it) stays.
	 */
	synchronized void synchronised() {
		if (this.state == State.LOST) {
			if (this.synchronisationsAtLoss == this.synchronisations) {
				return;
			}
			logger.info("Disk '" + this.disk + "': a primary has completed a synchronisation; it is no longer lost");
		}
		this.loss = null;
		this.lastHeard = this.nanoTime.getAsLong();
		this.state = State.PRESENT;
	}

	/**
	 * Returns why the primary is lost, or empty if it is not; first notices a silence
	 * longer than the limit.
	 */
	synchronized Optional<PrimaryLoss> loss() {
		if (this.state == State.PRESENT && this.silenceLimitNanos > 0 && !this.replicaClosed.getAsBoolean()) {
			long silent = this.nanoTime.getAsLong() - this.lastHeard;
			if (silent > this.silenceLimitNanos) {
				lose(this.clock.instant().minusNanos(silent),
						"nothing heard from it on " + PeerProtocol.replicaExport(this.disk)
								+ ", neither a request nor a keepalive, for more than "
								+ (this.silenceLimitNanos / 1_000_000) + " ms (probe-interval + forward-timeout)");
			}
		}
		return Optional.ofNullable(this.loss);
	}

	synchronized State state() {
		return this.state;
	}

	private synchronized void arrived(long arrival) {
		this.newest = Math.max(this.newest, arrival);
		this.lastHeard = this.nanoTime.getAsLong();
		if (this.state == State.AWAITED) {
			this.state = State.PRESENT;
		}
	}

	private void departed(long arrival, Departure departure) {
		if (this.replicaClosed.getAsBoolean()) {
			return;
		}
		synchronized (this) {
			if (arrival < this.superseded) {
				return;
			}
			if (departure == Departure.LOSS) {
				Instant now = this.clock.instant();
				lose(now, "its connection to " + PeerProtocol.replicaExport(this.disk)
						+ " ended without a clean disconnect");
				this.events.lost(now);
			}
			else if (arrival == this.newest && this.state == State.PRESENT) {
				this.state = State.AWAITED;
			}
		}
	}

	/** Returns the connections to close: every one but the newest. */
	private synchronized List<Runnable> synchronisationStarted() {
		List<Runnable> older = List.of();
		Map.Entry<Long, Runnable> newestOpen = this.replicaConnections.lastEntry();
		if (newestOpen != null) {
			this.superseded = newestOpen.getKey();
			older = List.copyOf(this.replicaConnections.headMap(newestOpen.getKey()).values());
		}
		this.synchronisations++;
		this.events.synchronisationStarted(this.clock.instant());
		return older;
	}

	private void lose(Instant since, String reason) {
		if (this.state == State.LOST) {
			return;
		}
		PrimaryLoss lost = new PrimaryLoss(this.disk, since, reason);
		this.loss = lost;
		this.synchronisationsAtLoss = this.synchronisations;
		this.state = State.LOST;
		logger.warn(lost.message());
	}

}
