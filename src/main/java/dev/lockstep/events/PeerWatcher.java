package dev.lockstep.events;

import java.time.Duration;
import java.util.Optional;
import java.util.function.Supplier;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import dev.lockstep.pair.PairOperations;
import dev.lockstep.pair.PeerReach;
import dev.lockstep.replication.CoordinatorState;

/**
 * Asks the peer's API for its status once per peer interval, when a peer is configured,
 * and publishes a {@code peer} event when the answer changes: the peer was lost, came
 * back, or (while reachable) changed its state or mode. The first answer is published
 * too, so that a client knows where the peer stands.
 */
final class PeerWatcher extends Poller {

	private static final Log logger = LogFactory.getLog(PeerWatcher.class);

	private final EventLog log;

	private final Supplier<Optional<PeerReach>> peer;

	/** Used by the watcher's thread only: what was last published. */
	private @Nullable PeerReach last;

	/**
	 * Creates a watcher.
	 * @param log where events go
	 * @param peer asks the peer ({@link PairOperations#reachPeer()})
	 * @param interval how long between two questions
	 */
	PeerWatcher(EventLog log, Supplier<Optional<PeerReach>> peer, Duration interval) {
		super("lockstep-events-peer", interval);
		this.log = log;
		this.peer = peer;
	}

	@Override
	void poll() {
		try {
			Optional<PeerReach> reach = this.peer.get();
			if (reach.isEmpty()) {
				return;
			}
			PeerReach now = reach.get();
			PeerReach before = this.last;
			if (before == null || before.reachable() != now.reachable() || before.state() != now.state()
					|| before.mode() != now.mode()) {
				this.last = now;
				this.log.publish("peer", new PeerEvent(now, (before == null) ? null : before.reachable()));
			}
		}
		catch (RuntimeException ex) {
			logger.warn("Could not ask the peer for its status", ex);
		}
	}

	/**
	 * The data of a {@code peer} event.
	 *
	 * @param peerApi the peer's API URL
	 * @param reachable whether it answers now
	 * @param wasReachable whether it answered before, {@code null} for the first answer
	 * @param problem why it does not answer
	 * @param state its lifecycle state, when it answers
	 * @param mode its mode, when it answers and runs
	 */
	record PeerEvent(String peerApi, boolean reachable, @Nullable Boolean wasReachable, @Nullable String problem,
			@Nullable CoordinatorState state, @Nullable String mode) {

		PeerEvent(PeerReach reach, @Nullable Boolean wasReachable) {
			this(reach.peerApi(), reach.reachable(), wasReachable, reach.problem(), reach.state(),
					(reach.mode() != null) ? reach.mode().value() : null);
		}

	}

}
