package dev.lockstep.replication;

import java.time.Duration;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A participant as the registry holds it: the participant itself, its position in the
 * lifecycle order, its kind and its call deadline.
 */
public final class RegisteredParticipant {

	static final Comparator<RegisteredParticipant> ORDER = Comparator.comparingInt(RegisteredParticipant::order)
		.thenComparingLong((participant) -> participant.sequence);

	private final ReplicationParticipant participant;

	private final String name;

	private final int order;

	private final ParticipantKind kind;

	private final long sequence;

	/**
	 * Serialises lifecycle calls, including one that overran its deadline and still runs.
	 */
	private final ReentrantLock lane = new ReentrantLock();

	private volatile boolean registered = true;

	RegisteredParticipant(ReplicationParticipant participant, int order, ParticipantKind kind, long sequence) {
		this.participant = participant;
		this.name = participant.name();
		this.order = order;
		this.kind = kind;
		this.sequence = sequence;
	}

	public String name() {
		return this.name;
	}

	public int order() {
		return this.order;
	}

	public ParticipantKind kind() {
		return this.kind;
	}

	public ReplicationParticipant participant() {
		return this.participant;
	}

	/**
	 * Returns whether the participant is still in the registry.
	 */
	public boolean isRegistered() {
		return this.registered;
	}

	void unregister() {
		this.registered = false;
	}

	Duration timeout(Duration fallback) {
		return this.participant.timeout().orElse(fallback);
	}

	boolean enterLane(long timeoutNanos) throws InterruptedException {
		return this.lane.tryLock() || this.lane.tryLock(timeoutNanos, TimeUnit.NANOSECONDS);
	}

	void leaveLane() {
		this.lane.unlock();
	}

	@Override
	public String toString() {
		return this.name + "(" + this.kind.value() + ", order " + this.order + ")";
	}

}
