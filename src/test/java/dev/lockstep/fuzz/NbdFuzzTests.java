package dev.lockstep.fuzz;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.ref.WeakReference;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import dev.lockstep.block.ExportRegistry;
import dev.lockstep.block.file.FileBlockDevice;
import dev.lockstep.block.nbd.Nbd;
import dev.lockstep.block.nbd.NbdServer;
import dev.lockstep.block.nbd.client.NbdClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Sends tens of thousands of random and mutated NBD frames to a live server: garbage
 * handshakes, options with lengths up to 2^32-1, truncated frames, unknown commands,
 * offsets past the end, lengths up to 2^32-1, and clients that stop reading their
 * replies. Meanwhile a well-behaved client writes and reads its own export, and a "mixed"
 * client interleaves valid writes with invalid requests on one connection. The
 * invariants: the server survives, its live heap (measured after forced full collections,
 * so independent of what other tests left) stays bounded, the well-behaved client's data
 * stays correct, and every write the server acknowledged can be read back. Replay a run
 * with {@code -Dfuzz.seed=N}.
 */
class NbdFuzzTests {

	private static final long DISK = 32L * 1024 * 1024;

	private static final long BUDGET = 64L * 1024 * 1024;

	private static final Duration TIME_BUDGET = Duration.ofSeconds(40);

	private static final int FRAMES = 20_000;

	/**
	 * How often the live heap is sampled during the run. Each sample is a full
	 * collection, a pause of well under a second, so the well-behaved client's latency
	 * bound holds.
	 */
	private static final Duration SAMPLE_INTERVAL = Duration.ofSeconds(2);

	@TempDir
	Path dir;

	@Test
	void hostileFramesNeverBreakTheServerOrOtherClients() throws Exception {
		long seed = Long.getLong("fuzz.seed", System.nanoTime());
		ExportRegistry registry = new ExportRegistry();
		List<FileBlockDevice> devices = new ArrayList<>();
		for (String name : List.of("fuzz", "mixed", "good")) {
			FileBlockDevice device = FileBlockDevice.open(this.dir.resolve(name + ".img"), DISK, false);
			devices.add(device);
			registry.add(name, device, false, name);
		}
		// Other tests in the same JVM leave objects that young collections promote and
		// that die later: the measurement must not count them.
		Thread churn = LiveHeap.promotedGarbage();
		long heapBefore = LiveHeap.settled();
		NbdServer server = new NbdServer(registry,
				new NbdServer.Settings("127.0.0.1", 0, 64, 8, BUDGET, Duration.ofSeconds(5)));
		server.start();
		InetSocketAddress address = new InetSocketAddress("127.0.0.1", server.port());
		ExecutorService pool = Executors.newFixedThreadPool(6);
		AtomicBoolean done = new AtomicBoolean();
		AtomicLong frames = new AtomicLong();
		LiveHeap.Sampler peak = LiveHeap.sampleEvery(SAMPLE_INTERVAL);
		long began = System.nanoTime();
		try {
			Future<Map<Long, byte[]>> good = pool.submit(() -> wellBehaved(address, new Random(seed + 1), done));
			Future<Map<Long, byte[]>> mixed = pool.submit(() -> mixedClient(address, new Random(seed + 2), done));
			List<Future<?>> fuzzers = new ArrayList<>();
			for (int worker = 0; worker < 4; worker++) {
				Random random = new Random(seed + 10 + worker);
				fuzzers.add(pool.submit(() -> {
					long deadline = System.nanoTime() + TIME_BUDGET.toNanos();
					while (frames.get() < FRAMES && System.nanoTime() < deadline) {
						frames.addAndGet(fuzzConnection(address, random));
					}
					return null;
				}));
			}
			for (Future<?> fuzzer : fuzzers) {
				fuzzer.get(TIME_BUDGET.toSeconds() + 60, TimeUnit.SECONDS);
			}
			done.set(true);
			long peakLive = peak.stop();
			System.out.printf("NBD fuzz: %d frames in %d ms, seed %d%n", frames.get(),
					TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - began), seed);
			Map<Long, byte[]> goodWrites = good.get(60, TimeUnit.SECONDS);
			System.out.printf("NBD fuzz: good client done at %d ms, %d writes, slowest %d ms%n",
					TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - began), goodWrites.size(),
					TimeUnit.NANOSECONDS.toMillis(maxLatency.get()));
			Map<Long, byte[]> mixedWrites = mixed.get(60, TimeUnit.SECONDS);
			System.out.printf("NBD fuzz: mixed client done at %d ms, %d writes%n",
					TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - began), mixedWrites.size());
			assertThat(Duration.ofNanos(maxLatency.get()))
				.as("slowest write and read-back of the well-behaved client while others misbehaved, seed " + seed)
				.isLessThan(Duration.ofSeconds(5));
			assertThat(server.isRunning()).as("seed " + seed).isTrue();
			assertThat(frames.get()).as("frames sent").isGreaterThanOrEqualTo(10_000);
			assertThat(goodWrites).as("the well-behaved client got work done").isNotEmpty();
			assertThat(mixedWrites).as("the mixed client had writes accepted").isNotEmpty();
			assertReadable(address, "good", goodWrites, seed);
			assertReadable(address, "mixed", mixedWrites, seed);
			System.out.printf("NBD fuzz: verified in %d ms%n",
					TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - began));
			long heapAfter = LiveHeap.settled();
			System.out.printf("NBD fuzz: live heap %d MB before, %d MB at the peak of %d samples, %d MB after%n",
					heapBefore >> 20, peakLive >> 20, peak.samples(), heapAfter >> 20);
			assertThat(heapAfter - heapBefore).as("heap retained after the run, seed " + seed)
				.isLessThan(64L * 1024 * 1024);
			assertThat(peakLive - heapBefore).as("heap retained during the run, seed " + seed)
				.isLessThan(BUDGET + 192L * 1024 * 1024);
		}
		finally {
			done.set(true);
			peak.stop();
			churn.interrupt();
			pool.shutdownNow();
			server.close();
			for (FileBlockDevice device : devices) {
				device.close();
			}
		}
	}

	/** Writes and reads back its own data, pipelined, until told to stop. */
	private static final AtomicLong maxLatency = new AtomicLong();

	private static Map<Long, byte[]> wellBehaved(InetSocketAddress address, Random random, AtomicBoolean done)
			throws Exception {
		Map<Long, byte[]> written = new HashMap<>();
		try (NbdClient client = NbdClient.connect(address, "good")) {
			int rounds = 0;
			while (!done.get() && rounds++ < 100_000) {
				long offset = random.nextInt((int) (DISK / 4096)) * 4096L;
				byte[] data = new byte[4096 * (1 + random.nextInt(4))];
				random.nextBytes(data);
				if (offset + data.length > DISK) {
					continue;
				}
				long started = System.nanoTime();
				client.write(offset, ByteBuffer.wrap(data), false).get(30, TimeUnit.SECONDS);
				maxLatency.accumulateAndGet(System.nanoTime() - started, Math::max);
				written.keySet().removeIf((at) -> at < offset + data.length && offset < at + written.get(at).length);
				written.put(offset, data);
				ByteBuffer back = ByteBuffer.allocate(data.length);
				client.read(offset, back).get(30, TimeUnit.SECONDS);
				maxLatency.accumulateAndGet(System.nanoTime() - started, Math::max);
				assertThat(back.array()).as("read-back at " + offset).isEqualTo(data);
			}
		}
		return written;
	}

	/**
	 * Interleaves valid writes with invalid requests on one raw connection and keeps the
	 * writes the server acknowledged.
	 */
	private static Map<Long, byte[]> mixedClient(InetSocketAddress address, Random random, AtomicBoolean done)
			throws IOException {
		Map<Long, byte[]> accepted = new HashMap<>();
		try (Socket socket = handshake(address, "mixed")) {
			DataOutputStream out = new DataOutputStream(socket.getOutputStream());
			DataInputStream in = new DataInputStream(socket.getInputStream());
			long handle = 0;
			int rounds = 0;
			while (!done.get() && rounds++ < 50_000) {
				handle++;
				int kind = random.nextInt(5);
				if (kind == 0) {
					long offset = random.nextInt((int) (DISK / 512)) * 512L;
					byte[] data = new byte[512 * (1 + random.nextInt(8))];
					random.nextBytes(data);
					boolean fits = offset + data.length <= DISK;
					request(out, 0, Nbd.CMD_WRITE, handle, offset, data.length);
					out.write(data);
					out.flush();
					int error = simpleReply(in, handle);
					if (fits) {
						assertThat(error).as("valid write at " + offset).isZero();
						accepted.keySet()
							.removeIf((at) -> at < offset + data.length && offset < at + accepted.get(at).length);
						accepted.put(offset, data);
					}
					else {
						assertThat(error).as("write past the end").isNotZero();
					}
				}
				else {
					int type = (kind == 1) ? 8 + random.nextInt(100) : Nbd.CMD_READ;
					long offset = (kind == 2) ? DISK + random.nextInt(1 << 20) : 0;
					long length = (kind == 3) ? (1L << 32) - 1 - random.nextInt(1000) : 512;
					request(out, (kind == 4) ? 0x8000 : 0, type, handle, offset, length);
					out.flush();
					int error = simpleReply(in, handle);
					assertThat(error).as("invalid request kind " + kind).isNotZero();
				}
			}
		}
		return accepted;
	}

	/** One hostile connection; returns how many frames it sent. */
	private static int fuzzConnection(InetSocketAddress address, Random random) {
		int sent = 0;
		try (Socket socket = new Socket()) {
			socket.connect(address, 5000);
			socket.setSoTimeout(2000);
			socket.setSoLinger(true, 0);
			OutputStream raw = socket.getOutputStream();
			DataOutputStream out = new DataOutputStream(raw);
			DataInputStream in = new DataInputStream(socket.getInputStream());
			in.readFully(new byte[18]);
			switch (random.nextInt(5)) {
				case 0 -> {
					byte[] garbage = new byte[1 + random.nextInt(64)];
					random.nextBytes(garbage);
					out.write(garbage);
					return 1;
				}
				case 1 -> {
					out.writeInt(Nbd.FLAG_C_FIXED_NEWSTYLE | Nbd.FLAG_C_NO_ZEROES);
					for (int i = 0; i < 1 + random.nextInt(20); i++) {
						out.writeLong(random.nextInt(10) == 0 ? random.nextLong() : Nbd.OPTS_MAGIC);
						out.writeInt(random.nextInt(16));
						long length = random.nextBoolean() ? random.nextInt(64) : (1L << 32) - 1 - random.nextInt(10);
						out.writeInt((int) length);
						byte[] data = new byte[(int) Math.min(length, random.nextInt(64))];
						random.nextBytes(data);
						out.write(data);
						sent++;
					}
					out.flush();
					socket.setSoTimeout(150);
					drain(in);
					return sent;
				}
				default -> {
				}
			}
			out.writeInt(Nbd.FLAG_C_FIXED_NEWSTYLE | Nbd.FLAG_C_NO_ZEROES);
			go(out, "fuzz");
			out.flush();
			sent++;
			if (!readGoReplies(in)) {
				return sent;
			}
			boolean stopReading = random.nextInt(6) == 0;
			int requests = 5 + random.nextInt(60);
			for (int i = 0; i < requests; i++) {
				int type = random.nextInt(4) == 0 ? random.nextInt(65536) : random.nextInt(8);
				long offset = switch (random.nextInt(4)) {
					case 0 -> random.nextLong();
					case 1 -> DISK - random.nextInt(4096);
					default -> random.nextInt((int) DISK);
				};
				long length = switch (random.nextInt(5)) {
					case 0 -> (1L << 32) - 1;
					case 1 -> 32L * 1024 * 1024 + random.nextInt(2);
					default -> random.nextInt(65536);
				};
				if (stopReading) {
					type = Nbd.CMD_READ;
					offset = 0;
					length = 32L * 1024 * 1024;
				}
				request(out, random.nextInt(8) == 0 ? random.nextInt(65536) : 0, type, i, offset, length);
				sent++;
				if (type == Nbd.CMD_WRITE && length <= 65536) {
					byte[] data = new byte[(int) (random.nextInt(5) == 0 ? length / 2 : length)];
					out.write(data);
				}
				if (random.nextInt(30) == 0) {
					out.writeInt(0xdeadbeef);
					sent++;
					break;
				}
			}
			out.flush();
			if (!stopReading) {
				socket.setSoTimeout(150);
				drain(in);
			}
			else {
				Thread.sleep(200);
			}
		}
		catch (IOException ex) {
			// the server closed a connection it could not make sense of: that is its
			// right
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
		}
		return Math.max(sent, 1);
	}

	private static Socket handshake(InetSocketAddress address, String export) throws IOException {
		Socket socket = new Socket();
		socket.connect(address, 5000);
		socket.setSoTimeout(30_000);
		DataInputStream in = new DataInputStream(socket.getInputStream());
		DataOutputStream out = new DataOutputStream(socket.getOutputStream());
		in.readFully(new byte[18]);
		out.writeInt(Nbd.FLAG_C_FIXED_NEWSTYLE | Nbd.FLAG_C_NO_ZEROES);
		go(out, export);
		out.flush();
		assertThat(readGoReplies(in)).as("GO " + export).isTrue();
		return socket;
	}

	private static void go(DataOutputStream out, String export) throws IOException {
		byte[] name = export.getBytes(StandardCharsets.UTF_8);
		out.writeLong(Nbd.OPTS_MAGIC);
		out.writeInt(Nbd.OPT_GO);
		out.writeInt(4 + name.length + 2);
		out.writeInt(name.length);
		out.write(name);
		out.writeShort(0);
	}

	/**
	 * Reads option replies up to the final one; returns whether the export was selected.
	 */
	private static boolean readGoReplies(DataInputStream in) throws IOException {
		for (int i = 0; i < 16; i++) {
			in.readLong();
			in.readInt();
			int type = in.readInt();
			int length = in.readInt();
			if (length < 0 || length > 65536) {
				return false;
			}
			in.readFully(new byte[length]);
			if (type == Nbd.REP_ACK) {
				return true;
			}
			if (type < 0) {
				return false;
			}
		}
		return false;
	}

	private static void request(DataOutputStream out, int flags, int type, long handle, long offset, long length)
			throws IOException {
		out.writeInt(Nbd.REQUEST_MAGIC);
		out.writeShort(flags);
		out.writeShort(type);
		out.writeLong(handle);
		out.writeLong(offset);
		out.writeInt((int) length);
	}

	private static int simpleReply(DataInputStream in, long handle) throws IOException {
		assertThat(in.readInt()).isEqualTo(Nbd.SIMPLE_REPLY_MAGIC);
		int error = in.readInt();
		assertThat(in.readLong()).isEqualTo(handle);
		return error;
	}

	private static void drain(InputStream in) throws IOException {
		byte[] buffer = new byte[64 * 1024];
		long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
		try {
			while (System.nanoTime() < deadline && in.read(buffer) >= 0) {
				// discard the replies
			}
		}
		catch (SocketTimeoutException ex) {
			// the server has nothing more to say to this connection
		}
	}

	private static void assertReadable(InetSocketAddress address, String export, Map<Long, byte[]> written, long seed)
			throws Exception {
		try (NbdClient client = NbdClient.connect(address, export)) {
			for (Map.Entry<Long, byte[]> write : written.entrySet()) {
				ByteBuffer back = ByteBuffer.allocate(write.getValue().length);
				client.read(write.getKey(), back).get(30, TimeUnit.SECONDS);
				assertThat(back.array()).as(export + " write at " + write.getKey() + ", seed " + seed)
					.isEqualTo(write.getValue());
			}
		}
	}

	/**
	 * The live heap: bytes still in use just after a full collection. Unlike the usage a
	 * pool reports after its last collection, this holds no garbage, so it does not
	 * depend on what earlier tests in the same JVM left behind or on when the collector
	 * last ran.
	 */
	static final class LiveHeap {

		private static final long SETTLED = 1024 * 1024;

		private LiveHeap() {
		}

		/**
		 * The live heap once repeated full collections stop freeing more than a MiB: the
		 * baseline and the final figure, where finalizers and reference processing of a
		 * first collection could otherwise leave garbage for the next.
		 */
		static long settled() throws InterruptedException {
			long live = collect();
			for (int round = 0; round < 10; round++) {
				long next = collect();
				boolean stable = next > live - SETTLED;
				live = Math.min(live, next);
				if (stable) {
					break;
				}
			}
			return live;
		}

		/**
		 * Forces a collection and returns the heap in use just after it. A weakly held
		 * sentinel proves that a collection ran, so the figure never silently includes
		 * garbage (for example with {@code -XX:+DisableExplicitGC}).
		 */
		static long collect() throws InterruptedException {
			WeakReference<Object> sentinel = new WeakReference<>(new Object());
			for (int attempt = 0; attempt < 100 && sentinel.get() != null; attempt++) {
				System.gc();
				if (sentinel.get() != null) {
					Thread.sleep(10);
				}
			}
			assertThat(sentinel.get()).as("a forced collection ran, so the live heap can be measured").isNull();
			return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
		}

		/**
		 * Starts a thread that keeps about 300 MB of objects alive for about three
		 * seconds each, long enough for young collections to promote them before they
		 * die, as threads left by earlier tests do; returns once the first of them would
		 * be promoted. A measure that counted what the old generation held after its last
		 * collection grew by hundreds of MB with it; the live heap does not.
		 */
		static Thread promotedGarbage() throws InterruptedException {
			Thread thread = new Thread(() -> {
				byte[][] ring = new byte[1200][];
				int next = 0;
				while (!Thread.currentThread().isInterrupted()) {
					for (int i = 0; i < 40; i++) {
						ring[next++ % ring.length] = new byte[256 * 1024];
					}
					try {
						Thread.sleep(100);
					}
					catch (InterruptedException ex) {
						return;
					}
				}
			}, "promoted-garbage");
			thread.setDaemon(true);
			thread.start();
			Thread.sleep(4000);
			return thread;
		}

		/** Samples the live heap at a fixed interval until stopped, keeping the peak. */
		static Sampler sampleEvery(Duration interval) {
			Sampler sampler = new Sampler(interval);
			sampler.thread.start();
			return sampler;
		}

		static final class Sampler {

			private final AtomicLong peak = new AtomicLong();

			private final AtomicLong samples = new AtomicLong();

			private final AtomicBoolean stopped = new AtomicBoolean();

			private final Thread thread;

			private Sampler(Duration interval) {
				this.thread = new Thread(() -> {
					try {
						while (!this.stopped.get()) {
							this.peak.accumulateAndGet(collect(), Math::max);
							this.samples.incrementAndGet();
							Thread.sleep(interval.toMillis());
						}
					}
					catch (InterruptedException ex) {
						Thread.currentThread().interrupt();
					}
				}, "live-heap-sampler");
				this.thread.setDaemon(true);
			}

			/** Stops sampling and returns the highest live heap seen. */
			long stop() throws InterruptedException {
				if (this.stopped.compareAndSet(false, true)) {
					this.thread.interrupt();
					this.thread.join(TimeUnit.SECONDS.toMillis(30));
				}
				return this.peak.get();
			}

			long samples() {
				return this.samples.get();
			}

		}

	}

}
