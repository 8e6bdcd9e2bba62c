module plinth.dev/ground/probe

go 1.26
