package dev.lockstep.block.replicated.secondary;

import java.time.Instant;
import java.util.Optional;

import org.jspecify.annotations.Nullable;

import dev.lockstep.block.replicated.protocol.PeerProtocol;

/**
 * A {@code colo} secondary's view of its link to the primary, as far as checkpoints are
 * concerned: whether the base holds what the primary's last checkpoint left plus the
 * writes it forwards since, in order. {@link PrimaryWatch} tells it of the primary's
 * broken connections to the replica export and of its synchronisations over the hash
 * export (see {@link PeerProtocol}).
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
final class PrimaryLink implements PrimaryWatch.Events {

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

	private State state = State.INTACT;

	/** When the latest connection broke, while BROKEN or BROKEN_WHILE_SYNCHRONISING. */
	private @Nullable Instant lostAt;

	/** When the running synchronisation started, while synchronising. */
	private @Nullable Instant synchronisingSince;

	/**
	 * @param disk the disk's name, for messages
	 */
	PrimaryLink(String disk) {
		this.disk = disk;
	}

	/** A connection of the primary ended without a clean disconnect. */
	@Override
	public synchronized void lost(Instant when) {
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
	@Override
	public synchronized void synchronisationStarted(Instant when) {
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
