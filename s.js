process.stdout; setTimeout(()=>{},1500)
