package dev.lockstep.replication;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A participant whose every action can be told to fail or to block, and that records its
 * calls in a shared log.
 */
public class TestParticipant implements ReplicationParticipant {

	private final String name;

	private final List<String> log;

	private final Map<StepAction, Behaviour> behaviours = new java.util.concurrent.ConcurrentHashMap<>();

	private final AtomicInteger concurrent = new AtomicInteger();

	private final AtomicInteger maxConcurrent = new AtomicInteger();

	private volatile String error;

	private volatile CountDownLatch errorBlock;

	private volatile Duration timeout;

	public TestParticipant(String name, List<String> log) {
		this.name = name;
		this.log = log;
	}

	public TestParticipant(String name) {
		this(name, new CopyOnWriteArrayList<>());
	}

	public TestParticipant failOn(StepAction action, String message) {
		this.behaviours.put(action, new Behaviour(message, null, null));
		return this;
	}

	public TestParticipant blockOn(StepAction action, CountDownLatch release) {
		this.behaviours.put(action, new Behaviour(null, release, null));
		return this;
	}

	/**
	 * Blocks on {@code action} until {@code release}, and counts down {@code entered}
	 * once the call is logged and about to block.
	 */
	public TestParticipant blockOn(StepAction action, CountDownLatch release, CountDownLatch entered) {
		this.behaviours.put(action, new Behaviour(null, release, entered));
		return this;
	}

	public TestParticipant heal(StepAction action) {
		this.behaviours.remove(action);
		return this;
	}

	public TestParticipant timeout(Duration timeout) {
		this.timeout = timeout;
		return this;
	}

	public void reportError(String error) {
		this.error = error;
	}

	public void blockErrors(CountDownLatch release) {
		this.errorBlock = release;
	}

	public int maxConcurrentCalls() {
		return this.maxConcurrent.get();
	}

	@Override
	public String name() {
		return this.name;
	}

	@Override
	public void start(ReplicationMode mode) throws Exception {
		act(StepAction.START, "start(" + mode + ")");
	}

	@Override
	public void checkpoint() throws Exception {
		act(StepAction.CHECKPOINT, "checkpoint");
	}

	@Override
	public void pause() throws Exception {
		act(StepAction.PAUSE, "pause");
	}

	@Override
	public void resume() throws Exception {
		act(StepAction.RESUME, "resume");
	}

	@Override
	public Optional<String> error() {
		CountDownLatch block = this.errorBlock;
		if (block != null) {
			awaitIgnoringInterrupts(block);
		}
		return Optional.ofNullable(this.error);
	}

	@Override
	public void stop(boolean failover) throws Exception {
		act(StepAction.STOP, "stop(" + failover + ")");
	}

	@Override
	public Optional<Duration> timeout() {
		return Optional.ofNullable(this.timeout);
	}

	private void act(StepAction action, String call) throws Exception {
		int now = this.concurrent.incrementAndGet();
		this.maxConcurrent.accumulateAndGet(now, Math::max);
		try {
			this.log.add(this.name + "." + call);
			Behaviour behaviour = this.behaviours.get(action);
			if (behaviour != null && behaviour.entered() != null) {
				behaviour.entered().countDown();
			}
			if (behaviour != null && behaviour.release() != null) {
				awaitIgnoringInterrupts(behaviour.release());
			}
			if (behaviour != null && behaviour.failure() != null) {
				throw new IllegalStateException(behaviour.failure());
			}
		}
		finally {
			this.concurrent.decrementAndGet();
		}
	}

	/** Blocks like a participant stuck in I/O that does not react to interruption. */
	private static void awaitIgnoringInterrupts(CountDownLatch latch) {
		awaitIgnoringInterrupts(latch, Duration.ofSeconds(60));
	}

	/**
	 * Waits for the latch, at most {@code limit}, ignoring interruption as a call stuck
	 * in I/O would, and restores the interrupt flag afterwards.
	 */
	public static void awaitIgnoringInterrupts(CountDownLatch latch, Duration limit) {
		long deadline = System.nanoTime() + limit.toNanos();
		boolean interrupted = false;
		while (latch.getCount() > 0 && System.nanoTime() < deadline) {
			try {
				latch.await(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
			}
			catch (InterruptedException ex) {
				interrupted = true;
			}
		}
		if (interrupted) {
			Thread.currentThread().interrupt();
		}
	}

	private record Behaviour(String failure, CountDownLatch release, CountDownLatch entered) {
	}

}
