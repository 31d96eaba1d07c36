package dev.lockstep.block.replicated.secondary;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;

import org.jspecify.annotations.Nullable;

import dev.lockstep.block.Export;
import dev.lockstep.block.replicated.protocol.PeerProtocol;
import dev.lockstep.block.replicated.protocol.PeerProtocol.Departure;

/**
 * A {@code colo} secondary's view of its link to the primary, as far as checkpoints are
 * concerned: whether the base holds what the primary's last checkpoint left plus the
 * writes it forwards since, in order. It follows the primary's connections to the replica
 * export and its synchronisations over the hash export (see {@link PeerProtocol}).
 *
 * <pre>
 *            lost                       synchronisation started
 *   INTACT ───────▶ BROKEN ─────────────────────────────┐
 *     ▲                                                 ▼
 *     └──────────── synchronised ──────────────── SYNCHRONISING
 *                                                       │ lost
 *   BROKEN ◀─────── synchronised ─── BROKEN_WHILE_SYNCHRONISING
 * </pre> A synchronisation that starts in any state leads to {@link State#SYNCHRONISING};
 * only {@link State#INTACT} accepts checkpoints ({@link #checkpointRefusal}). All
 * transitions are ordered by one lock, so a break is always before or after a
 * synchronisation's start, never between.
 */
final class PrimaryLink {

	/** The states of the link. */
	enum State {

		/**
		 * No connection of the primary broke since the last completed synchronisation (or
		 * since the secondary started): checkpoints are accepted.
		 */
		INTACT,

		/**
		 * A connection of the primary ended without a clean disconnect and no
		 * synchronisation started since: the base may hold a subset of the writes in
		 * flight. A new connection alone does not change that.
		 */
		BROKEN,

		/**
		 * A primary started a synchronisation that has not completed: the base is partly
		 * this node's old data and partly the primary's.
		 */
		SYNCHRONISING,

		/**
		 * As {@link #SYNCHRONISING}, and a connection broke since the synchronisation
		 * started: its completion leaves the link {@link #BROKEN}.
		 */
		BROKEN_WHILE_SYNCHRONISING

	}

	private final String disk;

	private final BooleanSupplier replicaClosed;

	/**
	 * How to disconnect each open connection to the replica export, by the order in which
	 * they arrived.
	 */
	private final ConcurrentSkipListMap<Long, Runnable> replicaConnections = new ConcurrentSkipListMap<>();

	private final AtomicLong arrivals = new AtomicLong();

	private State state = State.INTACT;

	/** When the latest connection broke, while BROKEN or BROKEN_WHILE_SYNCHRONISING. */
	private @Nullable Instant lostAt;

	/** When the running synchronisation started, while synchronising. */
	private @Nullable Instant synchronisingSince;

	/**
	 * @param disk the disk's name, for messages
	 * @param replicaClosed whether the replica export has stopped taking writes; breaks
	 * after that are part of the stop and do not count
	 */
	PrimaryLink(String disk, BooleanSupplier replicaClosed) {
		this.disk = disk;
		this.replicaClosed = replicaClosed;
	}

	/**
	 * Follows the clients of the replica export: a connection that ends is lost or not.
	 */
	Export.ClientListener replicaClients() {
		return (disconnect) -> {
			long arrival = this.arrivals.incrementAndGet();
			this.replicaConnections.put(arrival, disconnect);
			return (clean) -> {
				this.replicaConnections.remove(arrival);
				if (PeerProtocol.departure(clean) == Departure.LOSS && !this.replicaClosed.getAsBoolean()) {
					lost(Instant.now());
				}
			};
		};
	}

	/**
	 * Follows the clients of the hash export: each one starts a synchronisation. It first
	 * closes every connection to the replica export but the newest, which is the
	 * synchronising primary's (it connects there first): an older one is left over from
	 * before, such as a half-open connection of a primary cut off by a partition, which
	 * TCP keepalive would otherwise end hours later and so refuse the checkpoints of a
	 * healthy pair. Closed first, their breaks come before the synchronisation that lifts
	 * them. Should the newest be another client's, the primary's connection is closed,
	 * and its start fails.
	 */
	Export.ClientListener hashClients() {
		return (disconnect) -> {
			Map.Entry<Long, Runnable> newest = this.replicaConnections.lastEntry();
			if (newest != null) {
				List.copyOf(this.replicaConnections.headMap(newest.getKey()).values()).forEach(Runnable::run);
			}
			synchronisationStarted(Instant.now());
			return (clean) -> {
			};
		};
	}

	/** A connection of the primary ended without a clean disconnect. */
	synchronized void lost(Instant when) {
		this.lostAt = when;
		this.state = switch (this.state) {
			case INTACT, BROKEN -> State.BROKEN;
			case SYNCHRONISING, BROKEN_WHILE_SYNCHRONISING -> State.BROKEN_WHILE_SYNCHRONISING;
		};
	}

	/**
	 * A primary started a synchronisation; whatever broke before, its completion makes
	 * the base equal to the primary's disk.
	 */
	synchronized void synchronisationStarted(Instant when) {
		this.synchronisingSince = when;
		this.lostAt = null;
		this.state = State.SYNCHRONISING;
	}

	/**
	 * The primary has completed a synchronisation: the base equals its disk, plus the
	 * writes it forwards. A break since the synchronisation started (the primary died
	 * right after it) still counts.
	 */
	synchronized void synchronised() {
		this.synchronisingSince = null;
		this.state = switch (this.state) {
			case INTACT, SYNCHRONISING -> State.INTACT;
			case BROKEN, BROKEN_WHILE_SYNCHRONISING -> State.BROKEN;
		};
	}

	synchronized State state() {
		return this.state;
	}

	/**
	 * Returns why a checkpoint is refused in the current state, or empty if the link
	 * accepts it.
	 * @param kept what the refusal leaves for the operator
	 */
	synchronized Optional<String> checkpointRefusal(String kept) {
		return switch (this.state) {
			case INTACT -> Optional.empty();
			case SYNCHRONISING, BROKEN_WHILE_SYNCHRONISING -> Optional.of("Cannot checkpoint disk '" + this.disk
					+ "': the primary started synchronising the disks at " + this.synchronisingSince
					+ " and has not completed, so the base is partly this node's data and partly the primary's. " + kept
					+ "; checkpoints are accepted once the primary's start has returned");
			case BROKEN -> Optional.of("Cannot checkpoint disk '" + this.disk + "': the primary's connection broke at "
					+ this.lostAt + " without a clean disconnect, so the base may hold writes made after the primary's "
					+ "last checkpoint. " + kept + "; to replicate again, start the primary again: "
					+ "checkpoints are accepted once its synchronisation of the disks has completed");
		};
	}

}
