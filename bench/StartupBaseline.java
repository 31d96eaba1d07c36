package startup.baseline;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.annotation.Bean;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.web.SecurityFilterChain;

/**
 * The start-up floor of Lockstep's framework: Spring Boot with the same jars on the class
 * path and the same {@code application.yaml} (web MVC on Tomcat, actuator with its probes,
 * Spring Security, validation, Micrometer, springdoc), but none of Lockstep's own beans:
 * it scans only this package. {@code bench/startup.sh} starts it as it starts Lockstep, so
 * that the time Lockstep's own beans add is the difference.
 */
@SpringBootApplication
public class StartupBaseline {

	public static void main(String[] args) {
		SpringApplication.run(StartupBaseline.class, args);
	}

	/** Lets the readiness probe through without a token, as Lockstep's own chain does. */
	@Bean
	SecurityFilterChain openProbes(HttpSecurity http) throws Exception {
		return http.authorizeHttpRequests((requests) -> requests.anyRequest().permitAll()).build();
	}

}
