package dev.lockstep.remote;

import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

/**
 * Polls every remote participant's {@code /error} in the background. One thread schedules
 * the polls; each poll is an asynchronous request, so a remote that hangs delays nobody,
 * and a participant is not polled again while its previous poll is in flight.
 */
final class RemoteErrorPoller implements AutoCloseable {

	private static final Log logger = LogFactory.getLog(RemoteErrorPoller.class);

	private final ScheduledExecutorService scheduler;

	private final Duration interval;

	RemoteErrorPoller(Duration interval) {
		this.interval = interval;
		ScheduledThreadPoolExecutor scheduler = new ScheduledThreadPoolExecutor(1, (task) -> {
			Thread thread = new Thread(task, "lockstep-remote-error-poll");
			thread.setDaemon(true);
			return thread;
		});
		scheduler.setRemoveOnCancelPolicy(true);
		this.scheduler = scheduler;
	}

	/**
	 * Polls the participant now and then at the configured interval, until the returned
	 * handle is closed.
	 */
	AutoCloseable watch(RemoteParticipant participant) {
		ScheduledFuture<?> polls = this.scheduler.scheduleWithFixedDelay(() -> {
			try {
				// poll() records its own outcome; its future only tells when it is done
				var unused = participant.poll();
			}
			catch (RuntimeException ex) {
				logger.warn("Could not poll " + participant, ex);
			}
		}, 0, this.interval.toNanos(), TimeUnit.NANOSECONDS);
		return () -> polls.cancel(false);
	}

	@Override
	public void close() {
		this.scheduler.shutdownNow();
	}

}
