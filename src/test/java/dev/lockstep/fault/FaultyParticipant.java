package dev.lockstep.fault;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;

import dev.lockstep.replication.ReplicationMode;
import dev.lockstep.replication.ReplicationParticipant;
import dev.lockstep.replication.TestParticipant;

/**
 * Wraps any participant and injects faults into its actions: a throw, a hang (until
 * released, ignoring interruption like a call stuck in I/O), or a slow call. Without a
 * fault, every call goes to the wrapped participant.
 */
public final class FaultyParticipant implements ReplicationParticipant {

	/** The actions a fault can be injected into. */
	public enum Action {

		START, CHECKPOINT, ERROR, STOP

	}

	private final ReplicationParticipant delegate;

	private final Map<Action, Fault> faults = new ConcurrentHashMap<>();

	private volatile CountDownLatch release = new CountDownLatch(1);

	public FaultyParticipant(ReplicationParticipant delegate) {
		this.delegate = delegate;
	}

	public FaultyParticipant throwOn(Action action, String message) {
		this.faults.put(action, new Fault(message, false, Duration.ZERO));
		return this;
	}

	public FaultyParticipant hangOn(Action action) {
		if (this.release.getCount() == 0) {
			this.release = new CountDownLatch(1);
		}
		this.faults.put(action, new Fault(null, true, Duration.ZERO));
		return this;
	}

	public FaultyParticipant slowOn(Action action, Duration delay) {
		this.faults.put(action, new Fault(null, false, delay));
		return this;
	}

	public FaultyParticipant heal() {
		this.faults.clear();
		return this;
	}

	/** Lets every hung call return. */
	public void release() {
		this.release.countDown();
	}

	@Override
	public String name() {
		return this.delegate.name();
	}

	@Override
	public void start(ReplicationMode mode) throws Exception {
		inject(Action.START);
		this.delegate.start(mode);
	}

	@Override
	public void checkpoint() throws Exception {
		inject(Action.CHECKPOINT);
		this.delegate.checkpoint();
	}

	@Override
	public Optional<String> error() {
		try {
			inject(Action.ERROR);
		}
		catch (IllegalStateException ex) {
			return Optional.of(ex.getMessage());
		}
		return this.delegate.error();
	}

	@Override
	public void stop(boolean failover) throws Exception {
		inject(Action.STOP);
		this.delegate.stop(failover);
	}

	@Override
	public Optional<Duration> timeout() {
		return this.delegate.timeout();
	}

	@Override
	public Map<String, Object> details() {
		return this.delegate.details();
	}

	private void inject(Action action) {
		Fault fault = this.faults.get(action);
		if (fault == null) {
			return;
		}
		if (fault.hang()) {
			TestParticipant.awaitIgnoringInterrupts(this.release, Duration.ofSeconds(60));
		}
		if (!fault.delay().isZero()) {
			TestParticipant.awaitIgnoringInterrupts(new CountDownLatch(1), fault.delay());
		}
		if (fault.message() != null) {
			throw new IllegalStateException(fault.message());
		}
	}

	private record Fault(String message, boolean hang, Duration delay) {
	}

}
