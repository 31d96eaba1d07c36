package dev.lockstep;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

/**
 * Entry point of the Lockstep replication agent.
 */
@SpringBootApplication
@ConfigurationPropertiesScan
public class LockstepApplication {

	public static void main(String[] args) {
		SpringApplication.run(LockstepApplication.class, args);
	}

}
