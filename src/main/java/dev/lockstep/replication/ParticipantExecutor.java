package dev.lockstep.replication;

import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The threads on which participant calls run. A hung participant holds one thread until
 * it returns, so the pool grows on demand rather than queueing behind it; idle threads go
 * away after a minute.
 */
final class ParticipantExecutor implements Executor, AutoCloseable {

	private final ExecutorService delegate;

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
		this.delegate.execute(command);
	}

	@Override
	public void close() {
		this.delegate.shutdownNow();
	}

}
