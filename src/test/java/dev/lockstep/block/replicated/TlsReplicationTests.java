package dev.lockstep.block.replicated;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import dev.lockstep.TestCertificates;
import dev.lockstep.block.nbd.Tools;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Two nodes replicating over {@code nbds://} with mutual authentication: both serve NBD
 * in {@code required} mode and need client certificates, the secondary lets only the
 * primary's certificate name onto its replica exports, and every client, qemu-io and
 * qemu-img included, speaks TLS with a certificate of the same authority.
 */
@Timeout(180)
class TlsReplicationTests {

	@TempDir
	static Path certificates;

	private static TestCertificates authority;

	private static TestCertificates.Issued nodeA;

	private static TestCertificates.Issued nodeB;

	private static TestCertificates.Issued stranger;

	/** What qemu-io and qemu-img present: a certificate of the authority. */
	private static Path clientDirectory;

	@TempDir
	Path dir;

	private LockstepNode a;

	private LockstepNode b;

	@BeforeAll
	static void issue() {
		authority = TestCertificates.authority(certificates.resolve("ca"), "Test CA");
		nodeA = authority.issue("node-a", "node-a.example", "127.0.0.1");
		nodeB = authority.issue("node-b", "node-b.example", "127.0.0.1");
		stranger = authority.issue("node-c", "node-c.example", "127.0.0.1");
		clientDirectory = authority.gnutlsDirectory(certificates.resolve("client"), null,
				authority.issue("operator", "operator.example"));
	}

	@AfterEach
	void stopNodes() throws Exception {
		LockstepNode.closeAll(this.a, this.b);
	}

	/**
	 * A node that serves NBD only over TLS to clients with a certificate, replicates to
	 * its peer over {@code nbds://} and lets only {@code node-a.example} onto its replica
	 * exports.
	 */
	private static LockstepNode node(String name, Path dir, int httpPort, int nbdPort, int peerNbdPort,
			TestCertificates.Issued own) {
		String bundle = "spring.ssl.bundle.pem.nbd.";
		return new LockstepNode(name, dir, httpPort, nbdPort, peerNbdPort, "8MiB", "colo")
			.with("lockstep.block.peer=nbds://127.0.0.1:" + peerNbdPort)
			.with("lockstep.block.nbd.tls.mode=required")
			.with("lockstep.block.nbd.tls.bundle=nbd")
			.with("lockstep.block.nbd.tls.client-auth=need")
			.with("lockstep.block.replica.allowed-peers=node-a.example")
			.with(bundle + "keystore.certificate=file:" + own.certificate())
			.with(bundle + "keystore.private-key=file:" + own.privateKey())
			.with(bundle + "truststore.certificate=file:" + own.caCertificate());
	}

	@Test
	void replicatesOverNbdsWithMutualAuthenticationAndTheDisksMatch() throws Exception {
		int[] ports = LockstepNode.freePorts(4);
		this.a = node("a", this.dir.resolve("a"), ports[0], ports[1], ports[3], nodeA).start();
		this.b = node("b", this.dir.resolve("b"), ports[2], ports[3], ports[1], nodeB).start();
		LockstepNode.Response secondary = this.b.start("secondary");
		assertThat(secondary.status()).as(secondary.body()).isEqualTo(200);
		LockstepNode.Response primary = this.a.start("primary");
		assertThat(primary.status()).as(primary.body()).isEqualTo(200);

		io(this.a, "write -P 0x3c 0 1M");
		io(this.a, "write -P 0xa5 3M 256k");
		io(this.a, "write -z 5M 64k");
		LockstepNode.Response checkpoint = this.a.checkpoint();
		assertThat(checkpoint.status()).as(checkpoint.body()).isEqualTo(200);
		LockstepNode.Response secondaryCheckpoint = this.b.checkpoint();
		assertThat(secondaryCheckpoint.status()).as(secondaryCheckpoint.body()).isEqualTo(200);

		// The primary's disk and the secondary's view of it, both read over TLS.
		Tools.Result compared = Tools.run(60, "qemu-img", "compare", "--object", credentials(), "--image-opts",
				image(this.a), image(this.b));
		assertThat(compared.exitCode()).as(compared.output()).isZero();
		assertThat(compared.output()).contains("Images are identical");
		String read = Tools.ok(30, "qemu-io", "-r", "--object", credentials(), "--image-opts", image(this.b), "-c",
				"read -P 0xa5 3M 256k");
		assertThat(read).doesNotContain("Pattern verification failed");
		assertThat(this.a.get("/api/v1/replication").body()).contains("\"mode\":\"primary\"");

		// And the image files themselves, with both nodes stopped.
		this.a.close();
		this.b.close();
		DataGenerationTests.compare(this.a.image().toString(), this.b.image().toString());
		assertThat(Files.size(this.a.image())).isEqualTo(8L * 1024 * 1024);
	}

	@Test
	void aPrimaryWhoseCertificateTheSecondaryDoesNotAllowFailsToStartAndChangesNothing() throws Exception {
		int[] ports = LockstepNode.freePorts(4);
		this.b = node("b", this.dir.resolve("b"), ports[2], ports[3], ports[1], nodeB).start();
		io(this.b, "write -P 0x5a 0 2M");
		LockstepNode.Response secondary = this.b.start("secondary");
		assertThat(secondary.status()).as(secondary.body()).isEqualTo(200);
		// A node of the same authority, but not named in the secondary's allowed-peers.
		this.a = node("c", this.dir.resolve("c"), ports[0], ports[1], ports[3], stranger).start();
		io(this.a, "write -P 0x11 0 1M");

		LockstepNode.Response refused = this.a.start("primary");
		assertThat(refused.status()).as(refused.body()).isBetween(400, 599);
		assertThat(refused.body()).contains("disk0.replica")
			.contains("accepts only the configured peers' certificates");
		assertThat(this.a.get("/api/v1/replication").body()).startsWith("{\"state\":\"IDLE\"");
		assertThat(this.b.get("/api/v1/replication").body()).contains("\"mode\":\"secondary\"");

		this.a.close();
		this.b.close();
		Tools.Result unchanged = Tools.run(30, "qemu-io", "-r", "-f", "raw", this.b.image().toString(), "-c",
				"read -P 0x5a 0 2M", "-c", "read -P 0 2M 6M");
		assertThat(unchanged.exitCode()).as(unchanged.output()).isZero();
		assertThat(unchanged.output()).doesNotContain("Pattern verification failed");
	}

	private static String credentials() {
		return "tls-creds-x509,id=tls0,endpoint=client,dir=" + clientDirectory;
	}

	private static String image(LockstepNode node) {
		return "driver=nbd,host=127.0.0.1,port=" + node.nbdPort + ",export=disk0,tls-creds=tls0";
	}

	/**
	 * Runs qemu-io over TLS on the node's {@code disk0} and fails unless it succeeded.
	 */
	private static void io(LockstepNode node, String command) throws Exception {
		List<String> arguments = new ArrayList<>(
				List.of("qemu-io", "--object", credentials(), "--image-opts", image(node), "-c", command));
		Tools.Result result = Tools.run(60, arguments.toArray(String[]::new));
		assertThat(result.exitCode()).as(node.name + ": " + result.output()).isZero();
		assertThat(result.output()).as(node.name).doesNotContain("failed");
	}

}
