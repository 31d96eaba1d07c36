package dev.lockstep.replication;

import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The threads on which participant calls run. A hung participant holds one thread until
 * it returns, so the pool grows on demand rather than queueing behind it; idle threads go
 * away after a minute.
 * <p>
 * A thread that has just finished a task stands by for a moment, yielding the processor,
 * before it goes back to the pool, where it would sleep: one operation often follows
 * another closely (a client's sequential checkpoints), and a task handed to a thread that
 * stands by runs without the wake-up of a sleeping one, which costs more on a virtual
 * machine than the calls of a quick checkpoint. At most one thread stands by.
 */
final class ParticipantExecutor implements Executor, AutoCloseable {

	/** How long a thread stands by after a task before it returns to the pool. */
	private static final long STANDBY_NANOS = TimeUnit.MICROSECONDS.toNanos(300);

	/** The value of {@link #standby} while a thread stands by with no task yet. */
	private static final Runnable WAITING = new Waiting();

	private final ThreadPoolExecutor delegate;

	/**
	 * {@code null} when no thread stands by, {@link #WAITING} while one does, or the task
	 * handed to it.
	 */
	private final AtomicReference<Runnable> standby = new AtomicReference<>();

	ParticipantExecutor() {
		AtomicInteger count = new AtomicInteger();
		ThreadFactory factory = (task) -> {
			Thread thread = new Thread(task, "lockstep-participant-" + count.incrementAndGet());
			thread.setDaemon(true);
			return thread;
		};
		this.delegate = new ThreadPoolExecutor(0, Integer.MAX_VALUE, 60, TimeUnit.SECONDS, new SynchronousQueue<>(),
				factory);
	}

	@Override
	public void execute(Runnable command) {
		if (this.delegate.isShutdown()) {
			throw new RejectedExecutionException("the participant executor is closed");
		}
		if (!this.standby.compareAndSet(WAITING, command)) {
			this.delegate.execute(() -> runThenStandBy(command));
		}
	}

	/**
	 * Runs a task, then the tasks handed to this thread while it stands by, until none
	 * comes for {@link #STANDBY_NANOS} or another thread stands by already.
	 */
	// Measured: yielding lets the requesting thread run, where spinning would hold the
	// processor.
	@SuppressWarnings("ThreadPriorityCheck")
	private void runThenStandBy(Runnable first) {
		Runnable task = first;
		while (task != null) {
			// An abandoned call may have left this thread interrupted; the next task
			// starts clean, as in any pool.
			Thread.interrupted();
			task.run();
			task = null;
			if (this.delegate.isShutdown() || !this.standby.compareAndSet(null, WAITING)) {
				return;
			}
			long end = System.nanoTime() + STANDBY_NANOS;
			while (task == null) {
				Runnable handed = this.standby.get();
				if (handed != WAITING) {
					this.standby.set(null);
					task = handed;
				}
				else if (end - System.nanoTime() <= 0 || this.delegate.isShutdown()) {
					if (this.standby.compareAndSet(WAITING, null)) {
						return;
					}
				}
				else {
					Thread.yield();
				}
			}
		}
	}

	/**
	 * Returns how many tasks went through the pool rather than to a thread that stood by.
	 */
	long pooledTasks() {
		return this.delegate.getTaskCount();
	}

	@Override
	public void close() {
		this.delegate.shutdownNow();
	}

	/** A marker, never run. */
	private static final class Waiting implements Runnable {

		@Override
		public void run() {
			throw new IllegalStateException("not a task");
		}

	}

}
