import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * What moving bytes over loopback TCP costs this machine, in CPU-seconds per
 * GiB on the sending and on the receiving thread: the floor under replicated
 * writes, which send every byte once more. 1 GiB in 256 KiB writes (the size
 * of nbdcopy's requests), on 127.0.0.1, best of three.
 *
 * <p>With {@code sendfile} the sender sends from a 1 GiB file in the page cache
 * with {@code FileChannel.transferTo} instead of writing from a buffer: what
 * forwarding a write from the primary's image, instead of from the buffer it
 * was received into, would cost.
 *
 * <p>Run: {@code java bench/LoopbackTcp.java [sendfile]}
 *
 * <p>In two processes, so that each can be pinned to its own CPU:
 * {@code java bench/LoopbackTcp.java sink <port>} receives and drops every connection's
 * bytes until it is killed; {@code java bench/LoopbackTcp.java send <port>} sends 1 GiB
 * to it (after 256 MiB unmeasured) and prints the seconds the 1 GiB took, and the CPU
 * seconds of the sending thread.
 */
public final class LoopbackTcp {

	private static final int WRITE = 256 * 1024;

	private static final long TOTAL = 1L << 30;

	public static void main(String[] args) throws Exception {
		if (args.length == 2 && args[0].equals("sink")) {
			sink(Integer.parseInt(args[1]));
			return;
		}
		if (args.length == 2 && args[0].equals("send")) {
			send(Integer.parseInt(args[1]));
			return;
		}
		boolean sendfile = args.length > 0 && args[0].equals("sendfile");
		Path source = sendfile ? Files.createTempFile("loopback-tcp", ".img") : null;
		try {
			if (sendfile) {
				fill(source);
			}
			measure(source);
		}
		finally {
			if (source != null) {
				Files.delete(source);
			}
		}
	}

	private static void sink(int port) throws Exception {
		try (ServerSocketChannel server = ServerSocketChannel.open()) {
			server.bind(new InetSocketAddress("127.0.0.1", port));
			ByteBuffer buffer = ByteBuffer.allocateDirect(WRITE);
			while (true) {
				try (SocketChannel channel = server.accept()) {
					do {
						buffer.clear();
					}
					while (channel.read(buffer) >= 0);
				}
			}
		}
	}

	private static void send(int port) throws Exception {
		try (SocketChannel channel = SocketChannel.open(new InetSocketAddress("127.0.0.1", port))) {
			channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
			ByteBuffer buffer = ByteBuffer.allocateDirect(WRITE);
			write(channel, buffer, TOTAL / 4);
			ThreadMXBean threads = ManagementFactory.getThreadMXBean();
			long cpu = threads.getCurrentThreadCpuTime();
			long start = System.nanoTime();
			write(channel, buffer, TOTAL);
			System.out.printf("%.3f %.3f%n", (System.nanoTime() - start) / 1e9,
					(threads.getCurrentThreadCpuTime() - cpu) / 1e9);
		}
	}

	private static void write(SocketChannel channel, ByteBuffer buffer, long total) throws Exception {
		for (long sent = 0; sent < total; sent += WRITE) {
			buffer.clear();
			while (buffer.hasRemaining()) {
				channel.write(buffer);
			}
		}
	}

	/** Writes 1 GiB of non-zero data, which stays in the page cache. */
	private static void fill(Path file) throws Exception {
		try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
			ByteBuffer buffer = ByteBuffer.allocateDirect(WRITE);
			for (int i = 0; i < WRITE; i++) {
				buffer.put((byte) (i * 31 + 7));
			}
			for (long written = 0; written < TOTAL; written += WRITE) {
				buffer.clear();
				while (buffer.hasRemaining()) {
					channel.write(buffer, written + buffer.position());
				}
			}
		}
	}

	private static void measure(Path source) throws Exception {
		ThreadMXBean threads = ManagementFactory.getThreadMXBean();
		double bestSend = Double.MAX_VALUE;
		double bestReceive = Double.MAX_VALUE;
		for (int run = 0; run < 3; run++) {
			try (ServerSocketChannel server = ServerSocketChannel.open()) {
				server.bind(new InetSocketAddress("127.0.0.1", 0));
				long[] receiveCpu = new long[1];
				Thread receiver = new Thread(() -> {
					try (SocketChannel channel = server.accept()) {
						ByteBuffer buffer = ByteBuffer.allocateDirect(WRITE);
						long start = threads.getCurrentThreadCpuTime();
						for (long received = 0; received < TOTAL;) {
							buffer.clear();
							int n = channel.read(buffer);
							if (n < 0) {
								break;
							}
							received += n;
						}
						receiveCpu[0] = threads.getCurrentThreadCpuTime() - start;
					}
					catch (Exception ex) {
						throw new IllegalStateException(ex);
					}
				});
				receiver.start();
				long sendCpu;
				try (SocketChannel channel = SocketChannel.open(server.getLocalAddress());
						FileChannel file = (source != null) ? FileChannel.open(source) : null) {
					channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
					ByteBuffer buffer = ByteBuffer.allocateDirect(WRITE);
					long start = threads.getCurrentThreadCpuTime();
					for (long sent = 0; sent < TOTAL; sent += WRITE) {
						if (file != null) {
							for (long done = 0; done < WRITE;) {
								done += file.transferTo(sent + done, WRITE - done, channel);
							}
							continue;
						}
						buffer.clear();
						while (buffer.hasRemaining()) {
							channel.write(buffer);
						}
					}
					sendCpu = threads.getCurrentThreadCpuTime() - start;
				}
				receiver.join(60_000);
				bestSend = Math.min(bestSend, sendCpu / 1e9);
				bestReceive = Math.min(bestReceive, receiveCpu[0] / 1e9);
			}
		}
		System.out.printf("loopback TCP, 1 GiB in 256 KiB %s (best of 3): sender %.2f CPU-s, receiver %.2f CPU-s%n",
				(source != null) ? "sendfile calls from a cached file" : "writes", bestSend, bestReceive);
	}

}
